/**
 * oci/types — the image-spec v1.1 and distribution types, field by field, with the spec's words.
 *
 * Docker schema 2 manifests and lists have the same shape as their OCI counterparts (only the
 * media types differ), so one set of types serves both.
 */
import type { Digest } from './digest.js';

/** Platform describes the platform which the image in the manifest runs on. */
export interface Platform {
  /** the CPU architecture, for example `amd64` or `ppc64le` */
  architecture: string;
  /** the operating system, for example `linux` or `windows` */
  os: string;
  /** the operating system version, for example `10.0.14393.1066` */
  'os.version'?: string;
  /** mandatory OS features, for example `win32k` */
  'os.features'?: string[];
  /** the variant of the CPU, for example `v7` to specify ARMv7 when architecture is `arm` */
  variant?: string;
}

/** Descriptor describes the disposition of targeted content. */
export interface Descriptor {
  /** the media type of the object this schema refers to */
  mediaType: string;
  /** the digest of the targeted content */
  digest: Digest;
  /** the size in bytes of the blob */
  size: number;
  /** a list of URLs from which this object MAY be downloaded */
  urls?: string[];
  /** arbitrary metadata relating to the targeted content */
  annotations?: Record<string, string>;
  /** an embedding of the targeted content, base64 */
  data?: string;
  /** the platform which the image in the manifest runs on (only in an index) */
  platform?: Platform;
  /** the IANA media type of the artifact this descriptor refers to */
  artifactType?: string;
}

/** Manifest provides `application/vnd.oci.image.manifest.v1+json` mediatype structure. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  /** references a configuration object for a container, by digest */
  config: Descriptor;
  /** an indexed list of layers referenced by the manifest */
  layers: Descriptor[];
  /** an optional link from the image manifest to another manifest forming an association */
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Index references manifests for various platforms. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  /** references platform specific manifests */
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** HealthConfig holds configuration settings for the HEALTHCHECK feature (Docker extension). */
export interface HealthConfig {
  /** the test to perform: [] inherit, ["NONE"] disable, ["CMD", args…], ["CMD-SHELL", command] */
  Test?: string[];
  /** nanoseconds */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** ImageConfig defines the execution parameters which should be used as a base when running a container. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  /** Docker extensions that BuildKit writes */
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
}

/** RootFS describes a layer content addresses. */
export interface RootFS {
  type: 'layers';
  diff_ids: Digest[];
}

/** History describes the history of a layer. */
export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** Image is the JSON structure which describes some basic information about the image. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: RootFS;
  history?: History[];
}

/** The `oci-layout` file of an image layout. */
export interface ImageLayout {
  imageLayoutVersion: '1.0.0';
}

/** `/v2/<name>/tags/list` of the distribution spec. */
export interface TagList {
  name: string;
  tags: string[] | null;
}
