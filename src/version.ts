/** version — the version polyarch reports (`polyarch version`, `polyarch ls`, image metadata). */
export const polyarchVersion = 'v0.1.0';
