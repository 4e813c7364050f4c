/**
 * graph/dispatch/step — what an instruction's dispatch function sees: the stage's state, the
 * expanded command with the ARG/ENV scope before it, and the ways to name a vertex, read a
 * source and write history.
 */
import type { BuildPlan, Command, DispatchStep, PlannedStage, Scope, Vars } from '../../dockerfile/index.js';
import { errorAt, stepName } from '../../dockerfile/index.js';
import type { Op, Vertex } from '../ops.js';
import { historyEntry } from './history.js';
import type { StageNamer } from './naming.js';
import type { Sources } from './sources.js';
import type { ConvertOptions, StageState } from './types.js';

/** What the whole conversion shares. */
export interface Conversion {
  opts: ConvertOptions;
  plan: BuildPlan;
  sources: Sources;
}

export class Step<C extends Command = Command> {
  constructor(
    readonly conv: Conversion,
    readonly planned: PlannedStage,
    readonly state: StageState,
    private readonly namer: StageNamer,
    private readonly step: DispatchStep,
    /** the command's index in `planned.commands` */
    private readonly index: number,
  ) {}

  get cmd(): C {
    return this.step.command as C;
  }
  /** the ARG/ENV scope the command saw */
  get scope(): Scope {
    return this.step.scope;
  }
  get vars(): Vars {
    return this.step.scope.vars;
  }
  /** the stage's working directory */
  get cwd(): string {
    return this.state.config.WorkingDir || '/';
  }
  get opts(): ConvertOptions {
    return this.conv.opts;
  }
  /** a trigger from the base's ONBUILD */
  get onbuild(): boolean {
    return this.index < this.planned.triggerCount;
  }

  /** The instruction as written, its variables expanded (the step's progress text). */
  label(): string {
    return stepName(this.conv.plan, this.cmd.original, this.vars);
  }

  /** The next step's progress name; by default the instruction's label. */
  name(label = this.label()): string {
    return this.namer.name(label, this.vars, this.onbuild);
  }

  /** The filesystem the command's `which`-th source reads (COPY --from, RUN --mount from=). */
  source(which = 0): Promise<Vertex> {
    return this.conv.sources.read(this.planned, this.index, which);
  }

  /** A Dockerfile error at this instruction. */
  error(message: string): Error {
    return errorAt(this.conv.opts.dockerfile, this.cmd.location, message);
  }

  /** A vertex on the stage's filesystem, which becomes the stage's filesystem. */
  commit(op: Op, inputs: Vertex[], name = this.name()): Vertex {
    const { file } = this.conv.opts.dockerfile;
    const { startLine, endLine } = this.cmd.location;
    const vertex: Vertex = {
      op,
      inputs,
      name,
      location: { file, startLine, endLine },
      stage: this.planned.stage.name || `stage-${this.planned.stage.index}`,
    };
    this.state.vertex = vertex;
    return vertex;
  }

  /** A history entry; with `layer`, the vertex whose result holds its layer. */
  record(createdBy: string, layer?: Vertex, viaBuildkit = layer !== undefined): void {
    const entry = historyEntry(createdBy, layer !== undefined, viaBuildkit);
    this.state.history.push(layer ? { entry, step: layer } : { entry });
  }
}
