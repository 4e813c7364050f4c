/**
 * Typed instructions: every instruction and flag, RUN mounts, heredocs, directives and the
 * errors (with file, line and column) for bad input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Command,
  type Dockerfile,
  parseDockerfile,
  parseMount,
  readDockerfile,
} from '../../src/dockerfile/index.js';
import { DockerfileError } from '../../src/errors.js';

const read = (text: string): Dockerfile => readDockerfile(text, { file: 'Dockerfile' });
/** The commands of the only stage of `FROM scratch\n<body>`. */
const cmds = (body: string): Command[] => read(`FROM scratch\n${body}\n`).stages[0]!.commands;
const one = (body: string): Command => cmds(body)[0]!;

function throwsAt(text: string, line: number, column: number, message: RegExp | string): void {
  assert.throws(
    () => read(text),
    (err: unknown) => {
      assert.ok(err instanceof DockerfileError, `expected a DockerfileError, got ${err}`);
      assert.equal(err.location.line, line, `line of: ${err.message}`);
      assert.equal(err.location.column, column, `column of: ${err.message}`);
      if (typeof message === 'string') assert.equal(err.detail, message);
      else assert.match(err.detail, message);
      assert.ok(err.message.startsWith(`Dockerfile:${line}:${column}: `));
      return true;
    },
  );
}

describe('instructions', () => {
  test('FROM with platform and stage name', () => {
    const df = read('FROM --platform=$BUILDPLATFORM golang:1.23 AS Build\nFROM scratch');
    const s = df.stages[0]!;
    assert.equal(s.from.baseName, 'golang:1.23');
    assert.equal(s.from.platform, '$BUILDPLATFORM');
    assert.equal(s.name, 'build');
    assert.equal(df.stages[1]!.name, '');
    assert.deepEqual(s.from.location, { startLine: 1, endLine: 1 });
  });

  test('RUN shell and exec form, flags', () => {
    const run = one(
      'RUN --network=none --security=insecure --mount=type=cache,target=/root/.cache go build -o hello .',
    );
    assert.equal(run.kind, 'RUN');
    if (run.kind !== 'RUN') return;
    assert.deepEqual(run.cmdLine, ['go build -o hello .']);
    assert.equal(run.prependShell, true);
    assert.equal(run.network, 'none');
    assert.equal(run.security, 'insecure');
    assert.deepEqual(run.mounts, ['type=cache,target=/root/.cache']);
    assert.deepEqual(run.flagsUsed, ['network', 'security', 'mount']);
    assert.equal(
      run.original,
      'RUN --network=none --security=insecure --mount=type=cache,target=/root/.cache go build -o hello .',
    );
    const exec = one('RUN ["echo", "a b"]');
    assert.ok(exec.kind === 'RUN' && !exec.prependShell);
    assert.deepEqual(exec.kind === 'RUN' && exec.cmdLine, ['echo', 'a b']);
    const dflt = one('RUN true');
    assert.ok(dflt.kind === 'RUN' && dflt.network === 'default' && dflt.security === 'sandbox');
  });

  test('CMD, ENTRYPOINT, SHELL', () => {
    assert.deepEqual(one('CMD ["a", "b"]'), {
      ...one('CMD ["a", "b"]'),
      kind: 'CMD',
      cmdLine: ['a', 'b'],
      prependShell: false,
    });
    const ep = one('ENTRYPOINT []');
    assert.ok(ep.kind === 'ENTRYPOINT' && ep.clear && ep.cmdLine.length === 0);
    const sh = one('SHELL ["/bin/bash", "-c"]');
    assert.deepEqual(sh.kind === 'SHELL' && sh.shell, ['/bin/bash', '-c']);
  });

  test('ENV and LABEL, both forms', () => {
    const env = one('ENV A=1 B="two words" C=3');
    assert.deepEqual(env.kind === 'ENV' && env.env, [
      { key: 'A', value: '1', noDelim: false },
      { key: 'B', value: '"two words"', noDelim: false },
      { key: 'C', value: '3', noDelim: false },
    ]);
    const legacy = one('ENV PATH /usr/local/bin:$PATH');
    assert.deepEqual(legacy.kind === 'ENV' && legacy.env, [
      { key: 'PATH', value: '/usr/local/bin:$PATH', noDelim: true },
    ]);
    const label = one('LABEL org.opencontainers.image.title="hello" version=1');
    assert.equal(label.kind === 'LABEL' && label.labels.length, 2);
  });

  test('ARG with defaults, several names, comments', () => {
    const df = read('# VERSION the version to build\nARG VERSION=1.0 OTHER\nFROM scratch\nARG X');
    assert.deepEqual(df.metaArgs[0]!.args, [
      { key: 'VERSION', value: '1.0', comment: 'the version to build' },
      { key: 'OTHER', value: undefined, comment: '' },
    ]);
    const arg = df.stages[0]!.commands[0]!;
    assert.deepEqual(arg.kind === 'ARG' && arg.args, [{ key: 'X', value: undefined, comment: '' }]);
  });

  test('COPY and ADD flags', () => {
    const copy = one(
      'COPY --from=build --chown=1000:1000 --chmod=755 --link --parents --exclude=*.md --exclude=x a b /dst/',
    );
    assert.equal(copy.kind, 'COPY');
    if (copy.kind === 'COPY') {
      assert.equal(copy.from, 'build');
      assert.equal(copy.chown, '1000:1000');
      assert.equal(copy.chmod, '755');
      assert.equal(copy.link, true);
      assert.equal(copy.parents, true);
      assert.deepEqual(copy.exclude, ['*.md', 'x']);
      assert.deepEqual(copy.sources, ['a', 'b']);
      assert.equal(copy.dest, '/dst/');
    }
    const add = one(
      'ADD --keep-git-dir=true --checksum=sha256:abc --unpack=false --link=false https://example.com/a.tgz /x',
    );
    assert.ok(add.kind === 'ADD');
    if (add.kind === 'ADD') {
      assert.equal(add.keepGitDir, true);
      assert.equal(add.checksum, 'sha256:abc');
      assert.equal(add.unpack, false);
      assert.equal(add.link, false);
    }
    const plain = one('ADD a /x');
    assert.ok(plain.kind === 'ADD' && plain.unpack === undefined);
    const json = one('COPY ["a b", "/c d"]');
    assert.ok(json.kind === 'COPY' && json.sources[0] === 'a b' && json.dest === '/c d');
  });

  test('HEALTHCHECK', () => {
    const h = one(
      'HEALTHCHECK --interval=5s --timeout=1m30s --start-period=100ms --start-interval=2s --retries=3 CMD curl -f http://x/',
    );
    assert.deepEqual(h.kind === 'HEALTHCHECK' && h.health, {
      test: ['CMD-SHELL', 'curl -f http://x/'],
      interval: 5e9,
      timeout: 90e9,
      startPeriod: 1e8,
      startInterval: 2e9,
      retries: 3,
    });
    const none = one('HEALTHCHECK NONE');
    assert.deepEqual(none.kind === 'HEALTHCHECK' && none.health.test, ['NONE']);
    const exec = one('HEALTHCHECK CMD ["true"]');
    assert.deepEqual(exec.kind === 'HEALTHCHECK' && exec.health.test, ['CMD', 'true']);
  });

  test('the other instructions', () => {
    const c = cmds(
      'MAINTAINER me\nEXPOSE 8080/tcp 443 80\nVOLUME ["/a", "/b"]\nUSER app:app\nWORKDIR /src\nSTOPSIGNAL SIGTERM\nONBUILD RUN echo hi',
    );
    assert.deepEqual(
      c.map((x) => x.kind),
      ['MAINTAINER', 'EXPOSE', 'VOLUME', 'USER', 'WORKDIR', 'STOPSIGNAL', 'ONBUILD'],
    );
    assert.deepEqual(c[1]!.kind === 'EXPOSE' && c[1].ports, ['443', '80', '8080/tcp']);
    assert.deepEqual(c[2]!.kind === 'VOLUME' && c[2].volumes, ['/a', '/b']);
    assert.equal(c[6]!.kind === 'ONBUILD' && c[6].expression, 'RUN echo hi');
    assert.deepEqual(c[6]!.location, { startLine: 8, endLine: 8 });
  });

  test('lower-case instructions keep their word', () => {
    const r = one('run echo hi');
    assert.ok(r.kind === 'RUN' && r.word === 'run');
  });
});

describe('heredocs', () => {
  test('RUN with a heredoc body', () => {
    const df = read('FROM scratch\nRUN <<EOF\necho hello\necho $HOME\nEOF\nRUN true\n');
    const [run, next] = df.stages[0]!.commands;
    assert.ok(run?.kind === 'RUN');
    assert.deepEqual(run.files, [{ name: 'EOF', data: 'echo hello\necho $HOME\n', chomp: false }]);
    assert.deepEqual(run.location, { startLine: 2, endLine: 5 });
    assert.deepEqual(next?.location, { startLine: 6, endLine: 6 });
  });

  test('several heredocs on one line, chomp and quoted delimiters', () => {
    const df = read("FROM scratch\nCOPY <<-A <<'B' /dst/\n\t\tone\n\tA\ntwo $X\nB\n");
    const copy = df.stages[0]!.commands[0]!;
    assert.ok(copy.kind === 'COPY');
    assert.deepEqual(copy.sourceContents, [
      { path: 'A', data: 'one\n', expand: true },
      { path: 'B', data: 'two $X\n', expand: false },
    ]);
    assert.deepEqual(copy.sources, []);
    assert.equal(copy.dest, '/dst/');
  });

  test('heredoc markers in JSON form are not heredocs', () => {
    const df = read('FROM scratch\nRUN ["echo", "<<EOF"]\nRUN true\n');
    assert.equal(df.stages[0]!.commands.length, 2);
  });

  test('a heredoc destination is refused', () => {
    throwsAt('FROM scratch\nCOPY a <<EOF\nx\nEOF\n', 2, 8, 'COPY cannot accept a heredoc as a destination');
  });

  test('unterminated heredoc', () => {
    throwsAt('FROM scratch\nRUN cat <<EOF\nhello\n', 2, 9, 'unterminated heredoc');
  });
});

describe('parser details', () => {
  test('escape directive: backtick', () => {
    const df = read('# escape=`\nFROM scratch\nRUN echo a `\n  b\nCOPY ["c:\\\\x", "d"]\n');
    assert.equal(df.escapeToken, '`');
    const run = df.stages[0]!.commands[0]!;
    assert.deepEqual(run.kind === 'RUN' && run.cmdLine, ['echo a   b']);
  });

  test('directives are read only at the top and once', () => {
    const df = read('# syntax=docker/dockerfile:1\n# check=skip=all\nFROM scratch\n# escape=`\n');
    assert.equal(df.syntax, 'docker/dockerfile:1');
    assert.equal(df.check, 'skip=all');
    assert.equal(df.escapeToken, '\\');
    throwsAt('# escape=`\n# escape=\\\nFROM scratch\n', 2, 1, 'only one escape parser directive can be used');
    throwsAt('# escape=x\nFROM scratch\n', 1, 1, "invalid escape token 'x' does not match ` or \\");
  });

  test('empty continuation lines warn', () => {
    const r = parseDockerfile('FROM scratch\nRUN a \\\n\n  b\n');
    assert.equal(r.warnings.length, 1);
    assert.equal(r.warnings[0]!.short, 'Empty continuation line found in: RUN a   b');
    assert.equal(r.warnings[0]!.line, 4);
  });

  test('comments inside continuations are dropped', () => {
    const run = read('FROM scratch\nRUN a \\\n# note\n  b\n').stages[0]!.commands[0]!;
    assert.deepEqual(run.kind === 'RUN' && run.cmdLine, ['a   b']);
    assert.deepEqual(run.location, { startLine: 2, endLine: 4 });
  });

  test('empty and comment-only files', () => {
    assert.throws(() => read(''), /the Dockerfile cannot be empty/);
    assert.throws(() => read('# just a comment\n\n'), /file with no instructions/);
    assert.throws(() => parseDockerfile(''), /file with no instructions/);
  });
});

describe('bad input names file, line and column', () => {
  test('unknown instruction with a suggestion', () => {
    throwsAt('FROM scratch\n  FORM x\n', 2, 3, 'unknown instruction: FORM (did you mean FROM?)');
    throwsAt('FROM scratch\nFOOBAR x\n', 2, 1, 'unknown instruction: FOOBAR');
  });
  test('unknown and bad flags', () => {
    throwsAt('FROM scratch\nCOPY --frm=a b c\n', 2, 6, 'unknown flag: --frm (did you mean from?)');
    throwsAt('FROM scratch\nRUN --foo true\n', 2, 5, 'unknown flag: --foo');
    throwsAt(
      'FROM scratch\nCOPY --link=maybe a b\n',
      2,
      6,
      'Expecting boolean value for flag link, not: maybe',
    );
    throwsAt('FROM scratch\nCOPY --from a b\n', 2, 6, 'Missing a value on flag: --from');
    throwsAt('FROM scratch\nCOPY --from=a --from=b a b\n', 2, 15, 'Duplicate flag specified: --from');
    throwsAt('FROM scratch\nRUN --network=bridge true\n', 2, 5, 'invalid network mode "bridge"');
    throwsAt('FROM scratch\nRUN --mount=type=nfs true\n', 2, 5, 'unsupported mount type "nfs"');
    throwsAt('FROM scratch\nCOPY --from=$X a b\n', 2, 6, /variable expansion is not supported for --from/);
  });
  test('argument counts and forms', () => {
    throwsAt('FROM scratch\nSHELL /bin/sh -c\n', 2, 1, 'SHELL requires the arguments to be in JSON form');
    throwsAt(
      'FROM scratch\nCMD ["a", 1]\n',
      2,
      1,
      'when using JSON array syntax, arrays must be comprised of strings only',
    );
    throwsAt('FROM a b\n', 1, 1, 'FROM requires either one or three arguments');
    throwsAt(
      'FROM a AS 1x\n',
      1,
      11,
      'invalid name for build stage: "1x", name can\'t start with a number or contain symbols',
    );
    throwsAt('FROM scratch\nCOPY a\n', 2, 1, /COPY requires at least two arguments/);
    throwsAt('FROM scratch\nWORKDIR\n', 2, 1, 'WORKDIR requires exactly one argument');
    throwsAt('FROM scratch\nENV X\n', 2, 1, 'ENV must have two arguments');
    throwsAt(
      'FROM scratch\nHEALTHCHECK --interval=1us CMD true\n',
      2,
      13,
      'Interval "interval" cannot be less than 1ms',
    );
    throwsAt('FROM scratch\nHEALTHCHECK --retries=-1 CMD true\n', 2, 13, '--retries cannot be negative (-1)');
    throwsAt(
      'FROM scratch\nHEALTHCHECK --retries=1 --timeout=5 CMD true\n',
      2,
      25,
      'time: missing unit in duration "5"',
    );
    throwsAt('RUN true\n', 1, 1, 'no build stage in current context');
    throwsAt('FROM scratch\nONBUILD FROM x\n', 2, 1, "FROM isn't allowed as an ONBUILD trigger");
  });
});

describe('RUN --mount', () => {
  const id = (w: string) => w;
  test('types, aliases and defaults', () => {
    const bind = parseMount('target=/src,from=build,source=/out', id);
    assert.equal(bind.type, 'bind');
    assert.equal(bind.readOnly, true);
    assert.equal(bind.from, 'build');
    const cache = parseMount(
      'type=cache,dst=/root/.cache,id=go,sharing=locked,mode=0755,uid=1000,gid=1000',
      id,
    );
    assert.deepEqual(
      [cache.type, cache.target, cache.id, cache.sharing, cache.mode, cache.uid, cache.gid, cache.readOnly],
      ['cache', '/root/.cache', 'go', 'locked', 0o755, 1000, 1000, false],
    );
    const tmpfs = parseMount('type=tmpfs,destination=/t,size=64m', id);
    assert.equal(tmpfs.sizeLimit, 64 * 1024 * 1024);
    const secret = parseMount('type=secret,id=npmrc,required,env=NPM_TOKEN', id);
    assert.deepEqual([secret.required, secret.env, secret.readOnly], [true, 'NPM_TOKEN', true]);
    const ssh = parseMount('type=ssh,required=true', id);
    assert.equal(ssh.required, true);
    const rw = parseMount('type=bind,target=/x,rw', id);
    assert.equal(rw.readOnly, false);
  });
  test('errors', () => {
    assert.throws(
      () => parseMount('type=bind,target=/x,mode=0700', id),
      /mode not allowed for "bind" type mounts/,
    );
    assert.throws(() => parseMount('type=secret,from=x,id=y', id), /secret mount should not have a from/);
    assert.throws(
      () => parseMount('type=bind,target=/x,sharing=shared', id),
      /invalid cache sharing set for bind mount/,
    );
    assert.throws(
      () => parseMount('type=cache,target=/x,sharing=exclusive', id),
      /unsupported sharing value "exclusive"/,
    );
    assert.throws(() => parseMount('type=cache,target=/x,foo=bar', id), /unexpected key 'foo' in 'foo=bar'/);
    assert.throws(
      () => parseMount('type=bind,required', id),
      /unexpected key 'required' for mount type 'bind'/,
    );
    assert.throws(
      () => parseMount('type=cache,target', id),
      /invalid field 'target' must be a key=value pair/,
    );
  });
});
