// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Dockerfile text with ${VAR} expansions
/**
 * Build checks (`--check`): each rule fires where BuildKit's does, with its message, and the
 * `# check=` directive skips rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatLintResults,
  lintDockerfile,
  parseCheckDirective,
  readDockerfile,
} from '../../src/dockerfile/index.js';
import { parsePlatform } from '../../src/platforms/index.js';

const amd64 = parsePlatform('linux/amd64');
function lint(text: string, target?: string) {
  const df = readDockerfile(text, { file: 'Dockerfile' });
  return lintDockerfile(df, { targetPlatform: amd64, buildPlatform: amd64, ...(target ? { target } : {}) });
}
const found = (text: string) => lint(text).map((w) => [w.rule.name, w.message, w.location.startLine]);

describe('rules', () => {
  const cases: [string, string, [string, string, number][]][] = [
    ['clean', 'FROM busybox AS base\nCMD ["true"]\n', []],
    [
      'stage name casing',
      'FROM busybox AS Base\n',
      [['StageNameCasing', "Stage name 'Base' should be lowercase", 1]],
    ],
    [
      'from/as casing',
      'FROM busybox as base\n',
      [['FromAsCasing', "'as' and 'FROM' keywords' casing do not match", 1]],
    ],
    [
      'instruction casing',
      'FROM busybox\nRUN true\nrun true\n',
      [
        [
          'ConsistentInstructionCasing',
          "Command 'run' should match the case of the command majority (uppercase)",
          3,
        ],
      ],
    ],
    [
      'duplicate and reserved stage names',
      'FROM busybox AS a\nFROM busybox AS a\nFROM busybox AS context\n',
      [
        ['DuplicateStageName', 'Duplicate stage name "a", stage names should be unique', 2],
        ['ReservedStageName', 'Stage name should not use the same name as reserved stage "context"', 3],
      ],
    ],
    [
      'empty continuation',
      'FROM busybox\nRUN a \\\n\nb\n',
      [['NoEmptyContinuation', 'Empty continuation line', 4]],
    ],
    [
      'json args',
      'FROM busybox\nENTRYPOINT my-app\n',
      [
        [
          'JSONArgsRecommended',
          'JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals',
          2,
        ],
      ],
    ],
    ['json args not with SHELL', 'FROM busybox\nSHELL ["/bin/bash", "-c"]\nCMD my-app\n', []],
    [
      'numeric --chmod without x on created directories; not for files, x bits or symbolic modes',
      'FROM busybox\nCOPY --chmod=640 f /newdir/\nCOPY --chmod=640 f /file\nCOPY --chmod=750 f /d/\nCOPY --chmod=u+r f /e/\nADD --chmod=600 a b /many\n',
      [
        [
          'ChmodWithoutExecuteOnDirectories',
          'COPY --chmod=640 also sets the mode of the directories it creates for /newdir/, which cannot be entered without an execute bit',
          2,
        ],
        [
          'ChmodWithoutExecuteOnDirectories',
          'ADD --chmod=600 also sets the mode of the directories it creates for /many, which cannot be entered without an execute bit',
          6,
        ],
      ],
    ],
    [
      'maintainer',
      'FROM busybox\nMAINTAINER me\n',
      [['MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 2]],
    ],
    [
      'undefined arg in FROM',
      'ARG VERSION=1\nFROM busybox$VERSOIN\n',
      [['UndefinedArgInFrom', "FROM argument 'VERSOIN' is not declared (did you mean VERSION?)", 2]],
    ],
    [
      'relative workdir, only the first',
      'FROM busybox\nWORKDIR app\nWORKDIR sub\n',
      [
        [
          'WorkdirRelativePath',
          'Relative workdir "app" can have unexpected results if the base image changes',
          2,
        ],
      ],
    ],
    [
      'undefined variable from scratch',
      'FROM scratch\nARG DECLARED=a\nARG UNSET\nCOPY $DECLARED $UNSET $DECLAREDX /x\n',
      [['UndefinedVar', "Usage of undefined variable '$DECLAREDX' (did you mean $DECLARED?)", 4]],
    ],
    [
      'multiple CMD, reported at the first',
      'FROM busybox\nCMD ["a"]\nCMD ["b"]\n',
      [
        [
          'MultipleInstructionsDisallowed',
          'Multiple CMD instructions should not be used in the same stage because only the last one will be used',
          2,
        ],
      ],
    ],
    [
      'legacy key value and secrets',
      'FROM busybox\nENV DB_PASSWORD secret\nARG PUBLIC_KEY=x\n',
      [
        [
          'LegacyKeyValueFormat',
          '"ENV key=value" should be used instead of legacy "ENV key value" format',
          2,
        ],
        [
          'SecretsUsedInArgOrEnv',
          'Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")',
          2,
        ],
      ],
    ],
    [
      'redundant and constant platforms',
      'FROM --platform=$TARGETPLATFORM busybox AS a\nFROM --platform=linux/arm64 busybox AS b\nFROM --platform=linux/arm64 busybox AS b-arm64\n',
      [
        [
          'RedundantTargetPlatform',
          'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
          1,
        ],
        [
          'FromPlatformFlagConstDisallowed',
          'FROM --platform flag should not use constant value "linux/arm64"',
          2,
        ],
      ],
    ],
    [
      'expose protocol',
      'FROM busybox\nEXPOSE 80/TCP 443/tcp\n',
      [['ExposeProtoCasing', "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase", 2]],
    ],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => assert.deepEqual(found(text), want));
  }
});

test('invalid default base name (in a stage the target does not need)', () => {
  const w = lint('ARG IMG=Bad\nFROM $IMG AS x\nFROM busybox AS y\n', 'y');
  assert.deepEqual(
    w.map((x) => [x.rule.name, x.message]),
    [['InvalidDefaultArgInFrom', 'Default value for ARG $IMG results in empty or invalid base image name']],
  );
});

test('the check directive skips rules', () => {
  assert.deepEqual(found('# check=skip=FromAsCasing,StageNameCasing\nFROM busybox as Base\n'), []);
  assert.deepEqual(found('# check=skip=all\nFROM busybox as Base\nMAINTAINER x\n'), []);
  assert.throws(() => found('# check=nonsense\nFROM busybox\n'), /invalid check option "nonsense"/);
});

test('the check directive error= takes a Go boolean', () => {
  assert.equal(parseCheckDirective('skip=A;error=True').error, true);
  assert.equal(parseCheckDirective('error=0').error, false);
  assert.throws(() => parseCheckDirective('error=yes'), /invalid check option "error=yes"/);
});

test('report format', () => {
  const text = 'FROM busybox as base\n';
  const df = readDockerfile(text, { file: 'Dockerfile' });
  assert.equal(
    formatLintResults(df, lint(text)),
    [
      'Check complete, 1 warning has been found!',
      '',
      'WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
      "'as' and 'FROM' keywords' casing do not match",
      'Dockerfile:1',
      '--------------------',
      '   1 | >>> FROM busybox as base',
      '--------------------',
      '',
    ].join('\n'),
  );
  assert.equal(formatLintResults(df, []), 'Check complete, no warnings found.\n');
});
