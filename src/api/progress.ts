/**
 * api/progress — a build's progress for a program: BuildKit's status stream (`SolveStatus`
 * batches of vertexes, statuses, logs and warnings) and the renderers the CLI draws it with
 * (`tty`, `plain`, `rawjson`, `quiet`), for a program that wants the same display.
 *
 *     const renderer = createRenderer('plain', { stream: process.stderr });
 *     await runBuild({ …, progress: renderer }, options);
 *     await renderer.done();
 */
export type {
  SolveStatus,
  StatusSink,
  Vertex,
  VertexLog,
  VertexStatus,
  VertexWarning,
} from '../progress/events.js';
export { createRenderer, type ProgressMode, progressModes, type Renderer } from '../progress/render.js';
