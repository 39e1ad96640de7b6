// IP address hosts for the isolate runtime's URL parser: WHATWG IPv4 (decimal,
// octal and hex parts, 1 to 4 of them) and IPv6 (with `::` and an embedded
// IPv4 tail), each serialized in its canonical form.

function fail(input: string, why: string): TypeError {
  return new TypeError(`Invalid URL host ${JSON.stringify(input)}: ${why}`);
}

function ipv4Number(part: string): number | undefined {
  if (part === '') return undefined;
  if (/^0[xX][0-9a-fA-F]*$/.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return parseInt(part.slice(1), 8);
  if (/^\d+$/.test(part)) return /^0\d/.test(part) ? undefined : Number(part);
  return undefined;
}

/** Whether a domain "ends in a number" and so must parse as IPv4. */
export function looksIPv4(domain: string): boolean {
  const parts = domain.split('.');
  if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1] ?? '';
  return /^\d+$/.test(last) || /^0[xX][0-9a-fA-F]*$/.test(last);
}

export function parseIPv4(domain: string): string {
  const parts = domain.split('.');
  if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
  if (parts.length > 4) throw fail(domain, 'too many IPv4 parts');
  const nums = parts.map((p) => {
    const n = ipv4Number(p);
    if (n === undefined) throw fail(domain, `bad IPv4 part "${p}"`);
    return n;
  });
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) throw fail(domain, 'IPv4 part out of range');
  let value = last;
  nums.forEach((n, i) => (value += n * 256 ** (3 - i)));
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

function hexGroups(input: string, text: string): number[] {
  if (text === '') return [];
  return text.split(':').map((h) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(h)) throw fail(input, `bad IPv6 group "${h}"`);
    return parseInt(h, 16);
  });
}

export function parseIPv6(input: string): string {
  let text = input;
  const tailAt = text.lastIndexOf(':');
  const tail = text.slice(tailAt + 1);
  if (tail.includes('.')) {
    const octets = tail.split('.');
    if (octets.length !== 4 || octets.some((o) => !/^(0|[1-9]\d{0,2})$/.test(o) || Number(o) > 255)) throw fail(input, 'bad embedded IPv4');
    const [a, b, c, d] = octets.map(Number) as [number, number, number, number];
    text = `${text.slice(0, tailAt + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw fail(input, 'more than one "::"');
  const head = hexGroups(input, halves[0] ?? '');
  const rear = halves.length === 2 ? hexGroups(input, halves[1] ?? '') : [];
  if (halves.length === 1 ? head.length !== 8 : head.length + rear.length > 7) throw fail(input, 'wrong number of IPv6 groups');
  const pieces = [...head, ...new Array<number>(8 - head.length - rear.length).fill(0), ...rear];
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && pieces[j] === 0) j++;
    if (j - i > bestLen) (bestAt = i), (bestLen = j - i);
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) => pieces.slice(from, to).map((p) => p.toString(16)).join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}
