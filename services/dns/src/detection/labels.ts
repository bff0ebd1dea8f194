/**
 * Does a DNS label look machine-generated? Random-subdomain ("water torture") floods query
 * `<random>.victim.example.` names that no cache holds, so every query goes to the victim's servers and most
 * come back NXDOMAIN. Their labels are long and close to uniformly random over [a-z0-9]; ordinary labels are
 * words (www, mail, api, cdn-edge), short, or repeat letters.
 */

/** Shannon entropy of the label's characters, in bits per character. */
export function labelEntropy(label: string): number {
  if (label.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of label) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / label.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * True for labels of 8+ characters that a person would not have typed: letters and digits interleaved (three
 * or more switches, as in `x7f3k9q2`), or a run of consonants no word has (six, or five in a label of 10+
 * nearly all distinct characters), or almost no vowels. About 65% of random 8-character and 90% of
 * 12-character [a-z0-9] labels qualify; the detector asks for a share, not every label. Words, words with a number (`printer42`,
 * `cdn-edge01`) and compounds (`autodiscover`, `googleusercontent`) are not. `y` counts as a vowel.
 */
export function randomLookingLabel(label: string): boolean {
  if (label.length < 8) return false;
  const text = label.toLowerCase();
  let switches = 0;
  let run = 0;
  let maxRun = 0;
  let letters = 0;
  let vowels = 0;
  let previous: 'letter' | 'digit' | 'other' = 'other';
  for (const ch of text) {
    const kind = ch >= 'a' && ch <= 'z' ? 'letter' : ch >= '0' && ch <= '9' ? 'digit' : 'other';
    if (kind !== 'other' && previous !== 'other' && kind !== previous) switches++;
    previous = kind;
    if (kind === 'letter') {
      letters++;
      if ('aeiouy'.includes(ch)) {
        vowels++;
        run = 0;
      } else {
        run++;
        if (run > maxRun) maxRun = run;
      }
    } else {
      run = 0;
    }
  }
  if (switches >= 3) return true;
  if (maxRun >= 6) return true;
  if (maxRun >= 5 && text.length >= 10 && labelEntropy(text) >= 0.85 * Math.log2(Math.min(text.length, 36)))
    return true;
  return letters >= 10 && vowels / letters < 0.12;
}
