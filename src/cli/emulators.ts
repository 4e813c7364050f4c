/**
 * cli/emulators — `polyarch emulators`: which platforms this host runs natively, which through
 * which binfmt_misc handler, and which not at all; `install` and `uninstall` register and
 * remove QEMU handlers (what `docker run --privileged tonistiigi/binfmt --install …` does).
 */
import {
  emulationReport,
  type InstallOptions,
  installEmulators,
  knownPlatforms,
  type PlatformSupport,
  uninstallEmulators,
} from '../api/emulators.js';
import { tabwrite } from '../tabwriter.js';
import type { CommandRun, Flags } from './command.js';
import { UsageError } from './command.js';

function platformArgs(args: readonly string[]): string[] {
  return args.flatMap((a) => a.split(',')).filter((a) => a.trim() !== '');
}

/** The listing as a table: one row per platform, reasons of unavailable ones below. */
function formatEmulatorTable(report: readonly PlatformSupport[]): string {
  const rows = [
    ['PLATFORM', 'STATUS', 'HANDLER', 'INTERPRETER', 'FLAGS'],
    ...report.map((r) => {
      const h = r.handlers[0];
      return [r.platform, r.status, h?.name ?? '', h?.interpreter ?? '', h?.flags ?? ''];
    }),
  ];
  const table = tabwrite(rows.map((row) => `${row.join('\t')}\n`).join(''), { padding: 3 });
  // rows without a handler end in empty, padded cells
  const lines = table.split('\n').map((l) => l.trimEnd());
  lines.pop();
  const unavailable = report.filter((r) => r.status === 'unavailable');
  if (unavailable.length > 0) {
    lines.push('', ...unavailable.map((r) => `${r.platform}: ${r.reason}`));
    const installable = unavailable.filter((r) => r.qemu).map((r) => r.platform);
    if (installable.length > 0) {
      const what = installable.length > 3 ? 'all' : installable.join(' ');
      lines.push('', `Install emulators with: polyarch emulators install ${what}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function installOptions(flags: Flags): InstallOptions {
  const opts: InstallOptions = {};
  const dir = flags.string('binfmt-dir');
  if (dir) opts.binfmtDir = dir;
  if (flags.given('preserve-argv0')) opts.preserveArgv0 = flags.bool('preserve-argv0');
  return opts;
}

export const runInstall: CommandRun = async (ctx, args, flags) => {
  const report = installEmulators(platformArgs(args), installOptions(flags));
  if (report.enabledBinfmt) ctx.stdout.write('enabled binfmt_misc\n');
  for (const r of report.results) {
    const removed = r.removed.length ? ` (removed ${r.removed.join(', ')})` : '';
    switch (r.action) {
      case 'installed':
        ctx.stdout.write(
          `${r.platform}: installed ${r.handler!.name} (${r.handler!.interpreter}, flags ${r.handler!.flags})${removed}\n`,
        );
        break;
      case 'kept':
        ctx.stdout.write(
          `${r.platform}: already handled by ${r.handler!.name} (${r.handler!.interpreter}, flags ${r.handler!.flags})${removed}\n`,
        );
        break;
      case 'native':
        ctx.stdout.write(`${r.platform}: runs natively, no emulator needed${removed}\n`);
        break;
    }
  }
  return 0;
};

export const runUninstall: CommandRun = async (ctx, args, flags) => {
  const removed = uninstallEmulators(platformArgs(args), installOptions(flags));
  if (removed.length === 0) ctx.stdout.write('no matching emulator was registered\n');
  for (const name of removed) ctx.stdout.write(`removed ${name}\n`);
  return 0;
};

export const runList: CommandRun = async (ctx, _args, flags) => {
  const format = flags.string('format') ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new UsageError(`invalid --format "${format}": expected "table" or "json"`, ctx.commandPath);
  }
  const platforms = flags.given('platform') ? flags.list('platform') : [...knownPlatforms];
  const dir = flags.string('binfmt-dir');
  const report = emulationReport(platforms, dir ? { binfmtDir: dir } : {});
  if (format === 'json') {
    const json = report.map((r) => ({
      platform: r.platform,
      status: r.status,
      ...(r.qemu ? { qemu: r.qemu } : {}),
      handlers: r.handlers.map((h) => ({ name: h.name, interpreter: h.interpreter, flags: h.flags })),
      ...(r.reason ? { reason: r.reason } : {}),
    }));
    ctx.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    ctx.stdout.write(formatEmulatorTable(report));
  }
  return 0;
};
