// SetError objects (RFC 8620 5.3) and the /set response shape: one place for every Foo/set, Email/import and Email/copy.

/** A SetError object (RFC 8620 5.3): `type`, an optional `description`, and `extra` such as properties/notFound. */
export function setError(
  type: string,
  description?: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { type, ...(description ? { description } : {}), ...extra };
}

/** Thrown inside one create/update/destroy to refuse just that object; the method catches it per object. */
export class SetError extends Error {
  constructor(
    readonly type: string,
    readonly description?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(description ?? type);
  }

  /** The SetError object for notCreated / notUpdated / notDestroyed. */
  toJSON(): Record<string, unknown> {
    return setError(this.type, this.description, this.extra);
  }
}

/** An empty map is null in /set responses (RFC 8620 5.3: "or null if none"). */
export const orNull = <T>(o: Record<string, T>): Record<string, T> | null =>
  Object.keys(o).length > 0 ? o : null;

/** What one /set call did, per object. */
export interface SetOutcome {
  created: Record<string, unknown>;
  updated: Record<string, unknown>;
  destroyed: string[];
  notCreated: Record<string, unknown>;
  notUpdated: Record<string, unknown>;
  notDestroyed: Record<string, unknown>;
}

/** The /set response (RFC 8620 5.3): empty maps and lists are null. */
export function setResponse(
  accountId: string,
  oldState: string,
  newState: string,
  outcome: SetOutcome,
): Record<string, unknown> {
  return {
    accountId,
    oldState,
    newState,
    created: orNull(outcome.created),
    updated: orNull(outcome.updated),
    destroyed: outcome.destroyed.length > 0 ? outcome.destroyed : null,
    notCreated: orNull(outcome.notCreated),
    notUpdated: orNull(outcome.notUpdated),
    notDestroyed: orNull(outcome.notDestroyed),
  };
}
