import { Signal, type ISignal } from "@lumino/signaling";
import { layoutRunGraph, runGraphShape, type GraphShape, type RunGraphLayout, type RunView, type StepView } from "pipebook/contract";
import { decideUpdate, type StepTransition } from "./statusTransitions.js";

export interface RunChange {
  /** True when the graph's shape changed and nodes must be placed again. */
  readonly relayout: boolean;
  readonly transitions: readonly StepTransition[];
}

/**
 * What one run output shows: the latest accepted view, its layout and the selected step.
 * Widgets listen to `changed`; they never hold a view of their own, so an update from the
 * kernel (`update_display_data`) or from the server's event stream lands in one place.
 */
export class RunModel {
  private _run: RunView | undefined;
  private _shape: GraphShape | undefined;
  private _layout: RunGraphLayout | undefined;
  private _selected: string | undefined;
  private _staleDropped = 0;
  private readonly _changed = new Signal<this, RunChange>(this);
  private readonly _selectionChanged = new Signal<this, string | undefined>(this);

  get changed(): ISignal<this, RunChange> {
    return this._changed;
  }

  get selectionChanged(): ISignal<this, string | undefined> {
    return this._selectionChanged;
  }

  get run(): RunView | undefined {
    return this._run;
  }

  get layout(): RunGraphLayout | undefined {
    return this._layout;
  }

  get shape(): GraphShape | undefined {
    return this._shape;
  }

  /** How many late (backwards-moving) views were ignored; shown nowhere, asserted in tests. */
  get staleDropped(): number {
    return this._staleDropped;
  }

  get selected(): string | undefined {
    return this._selected;
  }

  get selectedStep(): StepView | undefined {
    return this._run?.steps.find((step) => step.name === this._selected);
  }

  /** Returns false when the view was stale and ignored. */
  update(next: RunView): boolean {
    const decision = decideUpdate(this._run, next);
    if (decision.kind === "stale") {
      this._staleDropped += 1;
      return false;
    }
    const shape = runGraphShape(next);
    const relayout = this._shape?.key !== shape.key;
    this._run = next;
    this._shape = shape;
    if (relayout) {
      this._layout = layoutRunGraph(shape);
    }
    if (decision.kind === "new-run" && this._selected !== undefined && !next.steps.some((s) => s.name === this._selected)) {
      this.select(undefined);
    }
    this._changed.emit({ relayout, transitions: decision.transitions });
    return true;
  }

  /** Selecting the selected step again closes its details. */
  select(name: string | undefined): void {
    const next = name === this._selected ? undefined : name;
    if (next === this._selected) {
      return;
    }
    this._selected = next;
    this._selectionChanged.emit(next);
  }

  dispose(): void {
    Signal.clearData(this);
  }
}
