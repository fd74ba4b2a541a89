/** A magic was used wrongly (unknown name, bad option): shown to the user as this one sentence. */
export class MagicError extends Error {
  constructor(readonly magic: string, message: string) {
    super(message);
    this.name = "MagicError";
  }
}
