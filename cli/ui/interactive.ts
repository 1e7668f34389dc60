/**
 * Ink reads CI / CONTINUOUS_INTEGRATION when it is first imported and then draws only a final
 * frame. Callers use this only after checking that stdin and stdout are real terminals: a
 * person is watching, so the live view is what they need. Call it before importing Ink.
 */
export function preferLiveTerminal(): void {
  delete process.env['CI'];
  delete process.env['CONTINUOUS_INTEGRATION'];
}
