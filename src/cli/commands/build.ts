/**
 * cli/commands/build — `polyarch build`: flags, arguments and help text. What it does is
 * cli/build, imported when the command runs.
 */
import type { Command } from '../command.js';

const flags: Command['flags'] = [
  { name: 'add-host', kind: 'stringSlice', usage: 'Add a custom host-to-IP mapping (format: "host:ip")' },
  {
    name: 'allow',
    kind: 'stringSlice',
    usage: 'Allow extra privileged entitlement (e.g., "network.host", "security.insecure")',
  },
  { name: 'annotation', kind: 'stringArray', usage: 'Add annotation to the image' },
  {
    name: 'attest',
    kind: 'stringArray',
    usage: 'Attestation parameters (format: "type=sbom,generator=image")',
  },
  { name: 'build-arg', kind: 'stringArray', usage: 'Set build-time variables' },
  { name: 'build-context', kind: 'stringArray', usage: 'Additional build contexts (e.g., name=path)' },
  {
    name: 'cache-from',
    kind: 'stringArray',
    usage: 'External cache sources (e.g., "user/app:cache", "type=local,src=path/to/dir")',
  },
  {
    name: 'cache-to',
    kind: 'stringArray',
    usage: 'Cache export destinations (e.g., "user/app:cache", "type=local,dest=path/to/dir")',
  },
  {
    name: 'call',
    kind: 'string',
    usage: 'Set method for evaluating build ("check", "outline", "targets")',
    default: 'build',
  },
  {
    name: 'cgroup-parent',
    kind: 'string',
    usage: 'Set the parent cgroup for the "RUN" instructions during build',
  },
  { name: 'check', kind: 'bool', usage: 'Shorthand for "--call=check"' },
  { name: 'file', short: 'f', kind: 'string', usage: 'Name of the Dockerfile (default: "PATH/Dockerfile")' },
  { name: 'iidfile', kind: 'string', usage: 'Write the image ID to a file' },
  { name: 'label', kind: 'stringArray', usage: 'Set metadata for an image' },
  {
    name: 'load',
    kind: 'string',
    noOptDefault: 'true',
    valueName: '',
    usage:
      'Shorthand for "--output=type=docker": the local store, and a Docker engine when one is reachable ("--load=docker": an engine must take it)',
  },
  { name: 'metadata-file', kind: 'string', usage: 'Write build result metadata to a file' },
  {
    name: 'network',
    kind: 'string',
    usage: 'Set the networking mode for the "RUN" instructions during build',
    default: 'default',
  },
  { name: 'no-cache', kind: 'bool', usage: 'Do not use cache when building the image' },
  { name: 'no-cache-filter', kind: 'stringArray', usage: 'Do not cache specified stages' },
  {
    name: 'output',
    short: 'o',
    kind: 'stringArray',
    usage: 'Output destination (format: "type=local,dest=path")',
  },
  { name: 'platform', kind: 'stringArray', usage: 'Set target platform for build' },
  {
    name: 'progress',
    kind: 'string',
    usage:
      'Set type of progress output ("auto", "quiet", "plain", "tty", "rawjson"). Use plain to show container output',
    default: 'auto',
  },
  {
    name: 'provenance',
    kind: 'string',
    usage:
      'Shorthand for "--attest=type=provenance" (none unless asked: polyarch adds no default attestation, so BUILDX_NO_DEFAULT_ATTESTATIONS changes nothing)',
  },
  { name: 'pull', kind: 'bool', usage: 'Always attempt to pull all referenced images' },
  { name: 'push', kind: 'bool', usage: 'Shorthand for "--output=type=registry"' },
  {
    name: 'quiet',
    short: 'q',
    kind: 'bool',
    usage: 'Suppress the build output and print image ID on success',
  },
  { name: 'sbom', kind: 'string', usage: 'Shorthand for "--attest=type=sbom"' },
  {
    name: 'secret',
    kind: 'stringArray',
    usage: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")',
  },
  { name: 'shm-size', kind: 'string', valueName: 'bytes', usage: 'Shared memory size for build containers' },
  {
    name: 'ssh',
    kind: 'stringArray',
    usage:
      'SSH agent socket or keys to expose to the build (format: "default|<id>[=<socket>|<key>[,<key>]]")',
  },
  { name: 'tag', short: 't', kind: 'stringArray', usage: 'Name and optionally a tag (format: "name:tag")' },
  { name: 'target', kind: 'string', usage: 'Set the target build stage to build' },
  { name: 'ulimit', kind: 'stringArray', valueName: 'ulimit', usage: 'Ulimit options' },
  // accepted for compatibility, not shown (as buildx)
  {
    name: 'print',
    kind: 'string',
    usage: 'Print result of information request (e.g., outline, targets)',
    hidden: true,
  },
  { name: 'compress', kind: 'bool', usage: 'Compress the build context using gzip', hidden: true },
  { name: 'isolation', kind: 'string', usage: 'Container isolation technology', hidden: true },
  { name: 'security-opt', kind: 'stringSlice', usage: 'Security options', hidden: true },
  { name: 'squash', kind: 'bool', usage: 'Squash newly built layers into a single new layer', hidden: true },
  { name: 'memory', short: 'm', kind: 'string', usage: 'Memory limit', hidden: true },
  { name: 'memory-swap', kind: 'string', usage: 'Swap limit equal to memory plus swap', hidden: true },
  { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)', hidden: true },
  {
    name: 'cpu-period',
    kind: 'int',
    usage: 'Limit the CPU CFS (Completely Fair Scheduler) period',
    hidden: true,
  },
  {
    name: 'cpu-quota',
    kind: 'int',
    usage: 'Limit the CPU CFS (Completely Fair Scheduler) quota',
    hidden: true,
  },
  { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution', hidden: true },
  { name: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution', hidden: true },
  {
    name: 'rm',
    kind: 'bool',
    usage: 'Remove intermediate containers after a successful build',
    hidden: true,
  },
  { name: 'force-rm', kind: 'bool', usage: 'Always remove intermediate containers', hidden: true },
];

export const buildCommand: Command = {
  name: 'build',
  aliases: ['b'],
  usage: '[OPTIONS] PATH | URL | -',
  short: 'Start a build',
  args: { min: 1, max: 1 },
  flags,
  run: async (ctx, args, flags) => (await import('../build.js')).run(ctx, args, flags),
};
