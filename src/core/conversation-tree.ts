/**
 * A conversation's messages as a tree: each message names its parent (`parentId`), an edit or a
 * regenerate starts a sibling, and one path from a root to a leaf is the active one (what the
 * model sees and a history answer shows). Pure functions over arrays, in creation order.
 *
 * As a store keeps it (`SessionPersistence.historyChanged`), the tree is one array of
 * {@link HistoryMessage}s: every message, then a marker entry ({@link ACTIVE_MARKER_ID}) whose
 * `parentId` is the active leaf. An array without the marker (a history from before branches)
 * is a single path whose last message is the leaf; messages without ids get `h<index>`.
 */
import type { HistoryMessage } from '../protocol/codecs';

/** The id of the entry that marks the active leaf in a stored tree. */
export const ACTIVE_MARKER_ID = '@active';

/** Messages a tree keeps per message of its active path's bound before it drops branches off the path, oldest first. */
const TREE_BOUND_FACTOR = 4;

/** A conversation tree: every message (creation order) and the active leaf (undefined: an empty path). */
export interface Tree {
  readonly all: readonly HistoryMessage[];
  readonly leaf: string | undefined;
}

/** The tree a stored array holds (see the module's comment). */
export function treeOf(stored: readonly HistoryMessage[]): Tree {
  const marker = stored.find((message) => message.id === ACTIVE_MARKER_ID);
  let previous: string | undefined;
  const all = stored.flatMap((message, index) => {
    if (message.id === ACTIVE_MARKER_ID) return [];
    if (message.id !== undefined) return [message];
    // A history from before ids: one path, in order.
    const id = `h${index}`;
    const withId = { ...message, id, ...(previous === undefined ? {} : { parentId: previous }) };
    previous = id;
    return [withId];
  });
  return { all, leaf: marker ? marker.parentId : all[all.length - 1]?.id };
}

/** The array a store keeps for `tree`. */
export function storedOf(tree: Tree): HistoryMessage[] {
  const marker: HistoryMessage = {
    role: 'system',
    content: '',
    id: ACTIVE_MARKER_ID,
    ...(tree.leaf === undefined ? {} : { parentId: tree.leaf }),
  };
  return [...tree.all, marker];
}

/** The active path of a history as a store keeps it (see the module's comment): what a conversation shows. */
export function activeHistory(stored: readonly HistoryMessage[]): HistoryMessage[] {
  return activePath(treeOf(stored));
}

/** `stored` (as a store keeps it) with `message` added after the active leaf, as the new leaf. */
export function appendToStoredHistory(
  stored: readonly HistoryMessage[],
  message: HistoryMessage & { readonly id: string },
): HistoryMessage[] {
  const tree = treeOf(stored);
  const child = { ...message, ...(tree.leaf === undefined ? {} : { parentId: tree.leaf }) };
  return storedOf({ all: [...tree.all, child], leaf: message.id });
}

/** The messages of the active path, root first. */
export function activePath(tree: Tree): HistoryMessage[] {
  const byId = new Map(tree.all.map((message) => [message.id, message]));
  const path: HistoryMessage[] = [];
  for (let id = tree.leaf; id !== undefined;) {
    const message = byId.get(id);
    if (!message) break;
    path.push(message);
    id = message.parentId;
  }
  return path.reverse();
}

/** The ids of the messages with the same parent as `message` (itself included), oldest first. */
export function siblingIdsOf(tree: Tree, message: HistoryMessage): string[] {
  return tree.all.flatMap((other) => (other.parentId === message.parentId ? [other.id as string] : []));
}

/** The active path as a history answer shows it: each message with `siblingIds` when it has siblings. */
export function pathWithBranches(tree: Tree): HistoryMessage[] {
  return activePath(tree).map((message) => {
    const siblingIds = siblingIdsOf(tree, message);
    return siblingIds.length > 1 ? { ...message, siblingIds } : message;
  });
}

/** The newest leaf under `id` (itself when it has no children): where switching to `id`'s branch lands. */
export function newestLeafUnder(tree: Tree, id: string): string {
  const under = new Set([id]);
  let leaf = id;
  // Children come after their parent in creation order: one pass finds every descendant.
  for (const message of tree.all) {
    if (message.parentId !== undefined && under.has(message.parentId)) {
      under.add(message.id as string);
      leaf = message.id as string;
    }
  }
  // The newest descendant is a leaf: any child of it would be newer still.
  return leaf;
}

/**
 * Keeps the newest `max` messages of the active path (then no `tool` message at its front, whose
 * call was trimmed) and the branches that hang off what is kept; then, past
 * `max * TREE_BOUND_FACTOR` messages, drops branches off the path, oldest first.
 */
export function trimTree(tree: Tree, max: number): Tree {
  const path = activePath(tree);
  let start = Math.max(0, path.length - max);
  while (start < path.length && path[start]?.role === 'tool') start++;
  const root = path[start];
  // An empty active path (a rewind of the first message): the branches stay for switch_branch.
  if (!root) return tree.leaf === undefined ? tree : { all: [], leaf: undefined };
  let all = tree.all;
  if (start > 0 || root.parentId !== undefined) {
    // Only what descends from the new root stays, and the root becomes one.
    const kept = new Set([root.id]);
    all = tree.all.flatMap((message) => {
      if (message.id === root.id) {
        const { parentId: _dropped, ...rest } = message;
        return [rest];
      }
      if (message.parentId === undefined || !kept.has(message.parentId)) return [];
      kept.add(message.id);
      return [message];
    });
  }
  const bound = max * TREE_BOUND_FACTOR;
  if (all.length > bound) all = dropOldBranches(all, new Set(path.slice(start).map((m) => m.id)), bound);
  return { all, leaf: tree.leaf };
}

/** Drops the oldest messages off the active path (`onPath`), each with what descends from it, until `bound` are left. */
function dropOldBranches(
  all: readonly HistoryMessage[],
  onPath: Set<string | undefined>,
  bound: number,
): HistoryMessage[] {
  const dropped = new Set<string | undefined>();
  let left = all.length;
  for (const message of all) {
    if (left <= bound) break;
    if (onPath.has(message.id) || dropped.has(message.id)) continue;
    dropped.add(message.id);
    left--;
    for (const other of all) {
      if (other.parentId !== undefined && dropped.has(other.parentId) && !dropped.has(other.id)) {
        dropped.add(other.id);
        left--;
      }
    }
  }
  return all.filter((message) => !dropped.has(message.id));
}
