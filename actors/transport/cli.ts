// `openpnc v2g listen|connect`: one side of SDP + TLS/TCP + V2GTP on a real interface, for labs.
// Until the EV/SECC session actors land, `connect` sends a real SupportedAppProtocolReq and `listen`
// answers it (first offered ISO-2 or DIN protocol) and echoes anything else.
import { decodeExi, encodeExi, ExiDecodeError } from '../../protocols/exi/index.ts';
import { PncError } from '../../protocols/errors.ts';
import { CliError, parseFlags, wantsHelp, type Command } from '../cli/command.ts';
import { discoverSecc } from './sdp-client.ts';
import { SdpServer } from './sdp-server.ts';
import { readSeccCredentials, readV2gRoots } from './tls.ts';
import { connectV2gtp } from './v2gtp-client.ts';
import { V2gtpServer, type V2gtpSecurity } from './v2gtp-server.ts';
import { linkLocalAddress } from './interfaces.ts';
import { V2gtpConnection } from './v2gtp-connection.ts';

/** The open Java EVCC's ISO-2 SupportedAppProtocolReq (SchemaID 10), shared/vectors/exi/vectors_all.tsv row 60 (RISE-V2G capture; charging-session.md §3). */
export const LAB_SAP_REQUEST = Buffer.from('8000ebab9371d34b9b79d189a98989c1d191d191818999d26b9b3a232b30020000280040', 'hex');
/** EVCC message timeout for SupportedAppProtocol (charging-session.md §2). */
const SAP_TIMEOUT_MS = 2_000;

const usage = `usage: openpnc v2g listen --if IF (--pki DIR | --tcp-eim-only) [--port N] [--keylog FILE] [--sessions N]
       openpnc v2g connect --if IF (--pki DIR | --tcp) [--keylog FILE]

Runs one side of the EV–SECC link on a real interface and prints each step.

listen    SECC side: SDP server on UDP [ff02::1]:15118 of IF, announcing IF's link-local address and a
          V2GTP port in 49152–65535; V2GTP over TLS 1.2 (ECDHE-ECDSA-AES128-SHA256, secp256r1) with
          DIR/secc.key.pem and DIR/secc.chain.pem, or plain TCP with --tcp-eim-only. Answers a
          SupportedAppProtocolReq with the first ISO-2 or DIN protocol offered; echoes other frames.
connect   EV side: SDP (250 ms × 50 requests) asking for TLS (or none with --tcp), TLS against
          DIR/v2g-root.pem with the DC=CPO check on the SECC leaf, then one SupportedAppProtocolReq.

  --if IF          the interface (its IPv6 link-local address must be up: wait for DAD)
  --pki DIR        a PKI from 'openpnc pki init --out DIR'
  --tcp-eim-only   listen: plain TCP, allowed only for a charger that offers EIM alone
  --tcp            connect: ask SDP for no TLS and use plain TCP
  --port N         listen: the V2GTP port (default: a free one in 49152–65535)
  --keylog FILE    append TLS secrets in NSS key log format, for 'tshark -o tls.keylog_file:FILE'
  --sessions N     listen: exit after N V2GTP connections have closed (default: run until stopped)
  -h, --help       this text

examples:
  openpnc pki init --out ./pki
  openpnc v2g listen --if eth1 --pki ./pki --keylog /tmp/secc.keys
  openpnc v2g connect --if eth1 --pki ./pki`;

const FLAGS = {
  if: { type: 'string' },
  pki: { type: 'string' },
  'tcp-eim-only': { type: 'boolean' },
  tcp: { type: 'boolean' },
  port: { type: 'string' },
  keylog: { type: 'string' },
  sessions: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const say = (line: string) => process.stdout.write(`${line}\n`);

function positive(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new CliError(`--${flag} must be a whole number from 1 to ${max}, not '${value}'`);
  return Number(value);
}

/** The lab SECC's answer: a SupportedAppProtocolRes for a handshake request, the frame itself otherwise. */
function labAnswer(payload: Uint8Array): { answer: Uint8Array; said: string } {
  let document;
  try {
    document = decodeExi('app', payload).document as { supportedAppProtocolReq?: { AppProtocol: { ProtocolNamespace: string; SchemaID: number; Priority: number }[] } };
  } catch (error) {
    if (!(error instanceof ExiDecodeError)) throw error;
    return { answer: payload, said: `echoed ${payload.length} bytes (not a handshake message)` };
  }
  const offered = document.supportedAppProtocolReq?.AppProtocol ?? [];
  const usable = offered.filter((p) => /^urn:(iso:15118:2:2013|din:70121:2012):MsgDef$/.test(p.ProtocolNamespace)).sort((a, b) => a.Priority - b.Priority);
  const res = usable.length > 0 ? { ResponseCode: 'OK_SuccessfulNegotiation', SchemaID: usable[0].SchemaID } : { ResponseCode: 'Failed_NoNegotiation' };
  return { answer: encodeExi('app', { supportedAppProtocolRes: res }), said: `supportedAppProtocolRes ${JSON.stringify(res)}` };
}

function describe(payload: Uint8Array): string {
  try {
    return JSON.stringify(decodeExi('app', payload).document);
  } catch {
    return `${payload.length} bytes`;
  }
}

async function listen(values: ReturnType<typeof parseFlags<typeof FLAGS>>['values']): Promise<number> {
  const iface = values.if!;
  if (values.tcp) throw new CliError('--tcp is for connect; the SECC side says --tcp-eim-only');
  if (!values.pki === !values['tcp-eim-only']) throw new CliError('listen needs exactly one of --pki DIR (TLS) or --tcp-eim-only');
  const sessions = positive(values.sessions, 'sessions', 1_000_000);
  const port = positive(values.port, 'port', 65535);
  const security: V2gtpSecurity = values.pki
    ? { kind: 'tls', credentials: await readSeccCredentials(values.pki), ...(values.keylog ? { keyLogFile: values.keylog } : {}) }
    : { kind: 'tcp', eimOnly: true };
  const address = linkLocalAddress(iface);
  let closed = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const v2gtp = await V2gtpServer.start({
    host: `${address}%${iface}`,
    port,
    security,
    onConnection: (socket, peer) => {
      const connection = new V2gtpConnection(socket);
      say(`${security.kind}: accepted [${peer.remoteAddress}]:${peer.remotePort}${peer.tls ? ` ${peer.tls.protocol} ${peer.tls.cipher}` : ''}`);
      connection.on('frame', (frame) => {
        say(`v2gtp: received ${describe(frame.payload)}`);
        const { answer, said } = labAnswer(frame.payload);
        connection.send(answer);
        say(`v2gtp: sent ${said}`);
      });
      connection.on('close', (error) => {
        say(`v2gtp: closed${error ? ` (${error.code}: ${error.message})` : ''}`);
        if (sessions !== undefined && ++closed >= sessions) done();
      });
    },
  });
  v2gtp.on('refused', (error, peer) => say(`${security.kind}: refused [${peer.remoteAddress ?? '?'}] ${error.code}: ${error.message.split('\n')[0]}`));
  const sdp = await SdpServer.start({ interface: iface, announce: { address, port: v2gtp.port, security: security.kind === 'tls' ? 'tls' : 'none' } });
  sdp.on('answered', (request, response, rinfo) => say(`sdp: answered [${rinfo.address}]:${rinfo.port} (asked ${request.security}) with [${response.address}]:${response.port} ${response.security}`));
  sdp.on('dropped', (error, rinfo) => say(`sdp: dropped a datagram from [${rinfo.address}]: ${error.message}`));
  say(`sdp: listening on [ff02::1]:15118 on ${iface}, announcing [${address}]:${v2gtp.port} ${security.kind === 'tls' ? 'tls' : 'none'}`);
  const stop = () => done();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await Promise.all([sdp.close(), v2gtp.close()]);
  say('stopped');
  return 0;
}

async function connect(values: ReturnType<typeof parseFlags<typeof FLAGS>>['values']): Promise<number> {
  const iface = values.if!;
  if (values['tcp-eim-only'] || values.sessions || values.port) throw new CliError('--tcp-eim-only, --sessions and --port are for listen');
  if (!values.pki === !values.tcp) throw new CliError('connect needs exactly one of --pki DIR (TLS) or --tcp');
  const v2gRoots = values.pki ? await readV2gRoots(values.pki) : undefined;
  const found = await discoverSecc({ interface: iface, security: v2gRoots ? 'tls' : 'none', onRequest: (n) => say(`sdp: request ${n} to [ff02::1%${iface}]:15118`) });
  say(`sdp: SECC at [${found.host}]:${found.port} offers ${found.security}`);
  if (v2gRoots && found.security !== 'tls') throw new CliError('the SECC offers no TLS; Plug&Charge needs TLS (use --tcp for EIM)', 1);
  const { connection, tls } = await connectV2gtp({
    host: found.host,
    port: found.port,
    security: v2gRoots ? { kind: 'tls', v2gRoots, ...(values.keylog ? { keyLogFile: values.keylog } : {}) } : { kind: 'tcp' },
  });
  say(tls ? `tls: ${tls.protocol} ${tls.cipher} group ${tls.group}; SECC leaf ${tls.seccSubject} accepted` : 'tcp: connected (no TLS)');
  try {
    say(`v2gtp: sent ${describe(LAB_SAP_REQUEST)}`);
    const answer = await connection.request(LAB_SAP_REQUEST, SAP_TIMEOUT_MS);
    say(`v2gtp: received ${describe(answer)}`);
  } finally {
    connection.end();
    await new Promise((resolve) => (connection.isClosed ? resolve(undefined) : connection.once('close', resolve)));
  }
  say('done');
  return 0;
}

export const v2gCommand: Command = {
  summary: 'one side of SDP + TLS/TCP + V2GTP on a real interface (lab tool)',
  usage,
  async run(argv) {
    if (wantsHelp(argv)) {
      say(usage);
      return 0;
    }
    const { values, positionals } = parseFlags(argv, FLAGS);
    const [mode, ...extra] = positionals;
    if ((mode !== 'listen' && mode !== 'connect') || extra.length > 0) throw new CliError(`expected 'listen' or 'connect'; see 'openpnc v2g --help'`);
    if (!values.if) throw new CliError('--if IF is required');
    try {
      return mode === 'listen' ? await listen(values) : await connect(values);
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`${error.code}: ${error.message}`, 1);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError((error as Error).message, 1);
      throw error;
    }
  },
};
