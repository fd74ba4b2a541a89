import { Signal, type ISignal } from "@lumino/signaling";
import type { RunView, StepView } from "pipebook/contract";
import { computeLayout, type Layout } from "./computeLayout.js";
import { buildLayoutInput, type LayoutInput } from "./layoutInput.js";
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
  private _layoutInput: LayoutInput | undefined;
  private _layout: Layout | undefined;
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

  get layout(): Layout | undefined {
    return this._layout;
  }

  get layoutInput(): LayoutInput | undefined {
    return this._layoutInput;
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
    const input = buildLayoutInput(next);
    const relayout = this._layoutInput?.key !== input.key;
    this._run = next;
    this._layoutInput = input;
    if (relayout) {
      this._layout = computeLayout(input);
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
