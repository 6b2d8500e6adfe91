// JSON.parse keeps the last of two equal keys. In a config that silently drops the operator's
// first value (a count, a dryRun), so the loader looks for duplicates in the text itself.

/** The first key that appears twice in one object of `text` (valid JSON), with that object's path. */
export function firstDuplicateKey(text: string): { path: (string | number)[]; key: string } | null {
  // Iterative, not recursive: a deeply nested document must not overflow the stack.
  const stack: ({ kind: 'object'; keys: Set<string>; key: string } | { kind: 'array'; index: number })[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    const top = stack[stack.length - 1];
    if (char === '{') stack.push({ kind: 'object', keys: new Set(), key: '' });
    else if (char === '[') stack.push({ kind: 'array', index: 0 });
    else if (char === '}' || char === ']') stack.pop();
    else if (char === ',' && top?.kind === 'array') top.index += 1;
    else if (char === '"') {
      const end = closingQuote(text, at);
      if (top?.kind === 'object' && nextSignificant(text, end + 1) === ':') {
        const key = JSON.parse(text.slice(at, end + 1)) as string;
        if (top.keys.has(key)) return { path: stack.slice(0, -1).map((frame) => (frame.kind === 'object' ? frame.key : frame.index)), key };
        top.keys.add(key);
        top.key = key;
      }
      at = end;
    }
    at += 1;
  }
  return null;
}

function closingQuote(text: string, open: number): number {
  let at = open + 1;
  while (at < text.length && text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
  return at;
}

function nextSignificant(text: string, from: number): string | undefined {
  let at = from;
  while (at < text.length && /\s/.test(text[at]!)) at += 1;
  return text[at];
}
