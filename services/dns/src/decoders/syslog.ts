/**
 * Syslog message headers, to get at the resolver's line inside: RFC 5424
 * (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`) and the BSD format of RFC 3164
 * (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG`), as rsyslog, syslog-ng and util-linux `logger` send them.
 * A message that is neither is taken whole as the line.
 */

import { asciiTimeNs } from './query-log.ts';

export interface SyslogMessage {
  /** The header's time, when it has one that reads. */
  timeNs: bigint | undefined;
  hostname: string;
  appName: string;
  /** The message text: the resolver's log line without its own time and program prefix. */
  message: string;
  format: 'rfc5424' | 'rfc3164' | 'none';
}

const RFC5424 = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+) ?(.*)$/s;
const RFC3164 =
  /^<(\d{1,3})>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\S+) ([^:[\s]+)(?:\[\d+\])?: ?(.*)$/s;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function parseSyslog(text: string, now: Date = new Date()): SyslogMessage {
  const body = text.replace(/[\r\n\0]+$/, '');
  const m5424 = RFC5424.exec(body);
  if (m5424) {
    const [, , timestamp, hostname, appName, , , , message] = m5424;
    const ms = timestamp === '-' ? Number.NaN : Date.parse(timestamp!);
    // RFC 5424 times may carry microseconds; Date keeps milliseconds, the rest are added here.
    const micros = /\.\d{3}(\d{1,3})/.exec(timestamp!)?.[1];
    const timeNs = Number.isNaN(ms)
      ? undefined
      : BigInt(ms) * 1_000_000n + (micros ? BigInt(micros.padEnd(3, '0')) * 1000n : 0n);
    return {
      timeNs,
      hostname: hostname === '-' ? '' : hostname!,
      appName: appName === '-' ? '' : appName!,
      message: message!.replace(/^\uFEFF/, ''),
      format: 'rfc5424',
    };
  }
  const m3164 = RFC3164.exec(body);
  if (m3164) {
    const [, , month, day, h, m, s, hostname, tag, message] = m3164;
    return {
      timeNs: asciiTimeNs(MONTHS.indexOf(month!), Number(day), Number(h), Number(m), Number(s), now),
      hostname: hostname!,
      appName: tag!,
      message: message!,
      format: 'rfc3164',
    };
  }
  return {
    timeNs: undefined,
    hostname: '',
    appName: '',
    message: body.replace(/^<\d{1,3}>/, ''),
    format: 'none',
  };
}
