/**
 * graph/dispatch/naming — progress names of a stage's steps, as BuildKit's prefixCommand
 * makes them: `[linux/amd64->arm64 builder 6/6] RUN go build -o hello .`.
 */
import type { Command, Vars } from '../../dockerfile/index.js';
import type { Platform } from '../../oci/types.js';
import { formatPlatform, normalizePlatform, parsePlatform } from '../../platforms/index.js';

/** `->arm64` when a stage builds for a target other than its own platform (formatTargetPlatform). */
function targetSuffix(base: Platform, vars: Vars): string {
  const target = targetOf(base, vars);
  if (!target) return '';
  const p = normalizePlatform(target);
  const b = normalizePlatform(base);
  if (p.os === b.os && p.architecture !== b.architecture) {
    return `->${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  }
  if (p.os !== b.os) return `->${formatPlatform(p)}`;
  return '';
}

/** The target platform the stage's ARGs name, if they name one. */
function targetOf(base: Platform, vars: Vars): Platform | undefined {
  if (vars.has('TARGETPLATFORM')) {
    try {
      return parsePlatform(vars.get('TARGETPLATFORM')!, base);
    } catch {
      // fall through to the parts
    }
  }
  if (!vars.has('TARGETOS') && !vars.has('TARGETARCH') && !vars.has('TARGETVARIANT')) return undefined;
  return {
    os: vars.get('TARGETOS') || base.os,
    architecture: vars.get('TARGETARCH') || base.architecture,
    ...(vars.get('TARGETVARIANT') ? { variant: vars.get('TARGETVARIANT')! } : {}),
  };
}

/** The steps that count in `N/total`: FROM an image, and the instructions that make vertices. */
export function countSteps(fromImage: boolean, commands: readonly Command[]): number {
  const steps = commands.filter(
    (c) => c.kind === 'ADD' || c.kind === 'COPY' || c.kind === 'RUN' || c.kind === 'WORKDIR',
  );
  return (fromImage ? 1 : 0) + steps.length;
}

export class StageNamer {
  #index = 0;
  constructor(
    private readonly multiPlatform: boolean,
    private readonly displayName: string,
    private readonly total: number,
    private readonly platform: Platform,
  ) {}

  /** BuildKit's prefixCommand: each call is the next step. */
  name(text: string, vars: Vars, onbuild = false): string {
    if (this.total === 0) return text;
    let out = '[';
    if (this.multiPlatform) out += `${formatPlatform(this.platform)}${targetSuffix(this.platform, vars)} `;
    if (this.displayName) out += `${this.displayName} `;
    this.#index++;
    const width = 1 + Math.floor(Math.log10(this.total));
    out += `${String(this.#index).padStart(width)}/${this.total}] `;
    if (onbuild) out += 'ONBUILD ';
    return out + text;
  }
}
