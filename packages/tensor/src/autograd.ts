// Reverse-mode automatic differentiation over the graph that ops record as they run.
//
// Each differentiable op attaches a Node to its output: the inputs and a function mapping the
// output's gradient to the inputs' gradients. backward() visits nodes in reverse topological
// order, sums gradients that reach a tensor along several paths, and stores the result in
// `.grad` of leaves (tensors created by the user with requiresGrad), as PyTorch does.
import type { Storage } from './backend.ts';
import type { Tensor } from './tensor.ts';
import { withOwnStorages } from './tidy.ts';

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none), given the output's gradient. */
  readonly backward: (grad: Tensor) => (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording a graph (inference, optimiser updates, reference passes). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Records `out = op(inputs)` in the graph when any input requires grad. */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: Node['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Tensors reachable from root through nodes, inputs before outputs (iterative: graphs get deep). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i]!;
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Backpropagates `grad` from root through the graph. A gradient flowing between nodes goes back
 * to its backend as soon as nothing needs it any more (its node has run, or it was summed into
 * another), as PyTorch frees it by reference count: only one made during this backward, not
 * shared (by storage) with a gradient still pending, and never a leaf's .grad. Without this the
 * memory of every intermediate gradient waits for the garbage collector.
 */
export function runBackward(root: Tensor, grad: Tensor): void {
  const grads = new Map<Tensor, Tensor>([[root, grad]]);
  // storages of the pending gradients (a view shares its base's storage), with counts
  const pending = new Map<Storage, number>();
  const hold = (g: Tensor, d: number): void => {
    const n = (pending.get(g.storage) ?? 0) + d;
    if (n > 0) pending.set(g.storage, n);
    else pending.delete(g.storage);
  };
  hold(grad, 1);
  const order = topoSort(root);
  noGrad(() => withOwnStorages((release) => {
    const busy = (s: Storage): boolean => pending.has(s);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t); // free as we go
      if (!t.node) {
        // A leaf: accumulate into .grad (materialised, so it never aliases a broadcast view).
        t.grad = t.grad ? t.grad.add(g) : g.contiguous(true);
        hold(g, -1);
        release(g, busy);
        continue;
      }
      const inGrads = t.node.backward(g);
      // hold every new gradient before releasing anything: they may be views of one storage (cat)
      const flows: [Tensor, Tensor][] = [];
      t.node.inputs.forEach((input, i) => {
        const gi = inGrads[i];
        if (!gi || !input.requiresGrad) return;
        if (gi.shape.length !== input.shape.length || gi.shape.some((d, j) => d !== input.shape[j])) {
          throw new Error(`autograd: ${t.node!.op} produced a gradient of shape [${gi.shape}] for an input of shape [${input.shape}]`);
        }
        hold(gi, 1);
        flows.push([input, gi]);
      });
      for (const [input, gi] of flows) {
        const prev = grads.get(input);
        if (!prev) {
          grads.set(input, gi);
          continue;
        }
        const sum = prev.add(gi);
        grads.set(input, sum);
        hold(sum, 1);
        hold(prev, -1);
        hold(gi, -1);
        release(prev, busy);
        if (gi !== prev) release(gi, busy);
      }
      hold(g, -1);
      release(g, busy);
    }
  }));
}
