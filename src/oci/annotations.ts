/**
 * oci/annotations — the pre-defined annotation keys of the image spec (annotations.md).
 */

/** date and time on which the image was built (RFC 3339) */
export const AnnotationCreated = 'org.opencontainers.image.created';
export const AnnotationAuthors = 'org.opencontainers.image.authors';
export const AnnotationURL = 'org.opencontainers.image.url';
export const AnnotationDocumentation = 'org.opencontainers.image.documentation';
export const AnnotationSource = 'org.opencontainers.image.source';
export const AnnotationVersion = 'org.opencontainers.image.version';
export const AnnotationRevision = 'org.opencontainers.image.revision';
export const AnnotationVendor = 'org.opencontainers.image.vendor';
export const AnnotationLicenses = 'org.opencontainers.image.licenses';
/** name of the reference for a target (in an OCI layout's index.json) */
export const AnnotationRefName = 'org.opencontainers.image.ref.name';
export const AnnotationTitle = 'org.opencontainers.image.title';
export const AnnotationDescription = 'org.opencontainers.image.description';
export const AnnotationBaseImageDigest = 'org.opencontainers.image.base.digest';
export const AnnotationBaseImageName = 'org.opencontainers.image.base.name';
/** containerd's key for the full image name in an OCI layout (used by `docker load` / `ctr import`) */
export const AnnotationContainerdImageName = 'io.containerd.image.name';
