/**
 * oci/mediatypes — media types of the OCI image spec and Docker's schema 2, as named constants.
 */

// OCI image-spec v1.1 (specs-go/v1/mediatype.go)
export const MediaTypeDescriptor = 'application/vnd.oci.descriptor.v1+json';
export const MediaTypeLayoutHeader = 'application/vnd.oci.layout.header.v1+json';
/** MediaTypeImageManifest specifies the media type for an image manifest. */
export const MediaTypeImageManifest = 'application/vnd.oci.image.manifest.v1+json';
/** MediaTypeImageIndex specifies the media type for an image index. */
export const MediaTypeImageIndex = 'application/vnd.oci.image.index.v1+json';
/** MediaTypeImageConfig specifies the media type for the image configuration. */
export const MediaTypeImageConfig = 'application/vnd.oci.image.config.v1+json';
/** MediaTypeEmptyJSON specifies the media type for an unused blob containing the value "{}". */
export const MediaTypeEmptyJSON = 'application/vnd.oci.empty.v1+json';
/** MediaTypeImageLayer is the media type used for layers referenced by the manifest. */
export const MediaTypeImageLayer = 'application/vnd.oci.image.layer.v1.tar';
/** MediaTypeImageLayerGzip is the media type used for gzipped layers referenced by the manifest. */
export const MediaTypeImageLayerGzip = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** MediaTypeImageLayerZstd is the media type used for zstd compressed layers referenced by the manifest. */
export const MediaTypeImageLayerZstd = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const MediaTypeImageLayerNonDistributable = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
export const MediaTypeImageLayerNonDistributableGzip =
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

// Docker image manifest v2 schema 2
export const MediaTypeDockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
export const MediaTypeDockerManifestList = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MediaTypeDockerConfig = 'application/vnd.docker.container.image.v1+json';
export const MediaTypeDockerLayerGzip = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const MediaTypeDockerLayer = 'application/vnd.docker.image.rootfs.diff.tar';
export const MediaTypeDockerForeignLayerGzip = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
/** schema 1, recognised only to refuse it with a clear message */
export const MediaTypeDockerManifestV1Signed = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const MediaTypeDockerManifestV1 = 'application/vnd.docker.distribution.manifest.v1+json';

/** True for an image index or a Docker manifest list. */
export function isIndexType(mt: string | undefined): boolean {
  return mt === MediaTypeImageIndex || mt === MediaTypeDockerManifestList;
}

/** True for a single-platform image manifest (OCI or Docker). */
export function isManifestType(mt: string | undefined): boolean {
  return mt === MediaTypeImageManifest || mt === MediaTypeDockerManifest;
}

/** True for an image config blob (OCI or Docker). */
export function isConfigType(mt: string | undefined): boolean {
  return mt === MediaTypeImageConfig || mt === MediaTypeDockerConfig;
}

/** True when a layer of this type is gzip-compressed. */
export function isGzipLayer(mt: string): boolean {
  return (
    mt === MediaTypeImageLayerGzip ||
    mt === MediaTypeDockerLayerGzip ||
    mt === MediaTypeDockerForeignLayerGzip ||
    mt === MediaTypeImageLayerNonDistributableGzip
  );
}

/** True when a layer of this type is zstd-compressed. */
export function isZstdLayer(mt: string): boolean {
  return mt === MediaTypeImageLayerZstd;
}

/** True for any layer media type we know how to unpack. */
export function isLayerType(mt: string): boolean {
  return (
    isGzipLayer(mt) ||
    isZstdLayer(mt) ||
    mt === MediaTypeImageLayer ||
    mt === MediaTypeDockerLayer ||
    mt === MediaTypeImageLayerNonDistributable
  );
}

/** Every manifest type a registry client should accept, most preferred first. */
export const manifestAcceptTypes: readonly string[] = [
  MediaTypeImageIndex,
  MediaTypeDockerManifestList,
  MediaTypeImageManifest,
  MediaTypeDockerManifest,
];
