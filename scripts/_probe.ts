import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { PcapWriter } from './pcap-writer.js';
import { allTypes, encodeIFrame } from '../src/codec/index.js';
import { sampleAsdu } from '../test/codec/samples.js';
const w = new PcapWriter();
const names: string[] = [];
for (const t of allTypes()) {
  if (t.raw) continue;
  w.addTcpSegment(encodeIFrame(1, 2, sampleAsdu(t, false, 3, t.id)));
  names.push(t.name);
  if (t.sqAllowed) { w.addTcpSegment(encodeIFrame(1, 2, sampleAsdu(t, true, 4, t.id))); names.push(t.name + ' SQ'); }
}
writeFileSync('/tmp/t/p.pcap', w.bytes());
const fields = ["iec60870_104.apdulen", "iec60870_104.type", "iec60870_104.utype", "iec60870_104.tx", "iec60870_104.rx", "iec60870_104.data", "iec60870_asdu.addr", "iec60870_asdu.oa", "iec60870_asdu.typeid", "iec60870_asdu.causetx", "iec60870_asdu.nega", "iec60870_asdu.test", "iec60870_asdu.ioa", "iec60870_asdu.numix", "iec60870_asdu.sq", "iec60870_asdu.cp24time", "iec60870_asdu.cp24time.ms", "iec60870_asdu.cp24time.min", "iec60870_asdu.cp24time.iv", "iec60870_asdu.cp56time", "iec60870_asdu.cp56time.ms", "iec60870_asdu.cp56time.min", "iec60870_asdu.cp56time.gen", "iec60870_asdu.cp56time.iv", "iec60870_asdu.cp56time.hour", "iec60870_asdu.cp56time.su", "iec60870_asdu.cp56time.day", "iec60870_asdu.cp56time.dow", "iec60870_asdu.cp56time.month", "iec60870_asdu.cp56time.year", "iec60870_asdu.siq", "iec60870_asdu.siq.spi", "iec60870_asdu.siq.bl", "iec60870_asdu.siq.sb", "iec60870_asdu.siq.nt", "iec60870_asdu.siq.iv", "iec60870_asdu.diq", "iec60870_asdu.diq.dpi", "iec60870_asdu.diq.bl", "iec60870_asdu.diq.sb", "iec60870_asdu.diq.nt", "iec60870_asdu.diq.iv", "iec60870_asdu.qds", "iec60870_asdu.qds.ov", "iec60870_asdu.qds.bl", "iec60870_asdu.qds.sb", "iec60870_asdu.qds.nt", "iec60870_asdu.qds.iv", "iec60870_asdu.vti", "iec60870_asdu.vti.v", "iec60870_asdu.vti.t", "iec60870_asdu.qos", "iec60870_asdu.qos.ql", "iec60870_asdu.qos.se", "iec60870_asdu.sco", "iec60870_asdu.sco.on", "iec60870_asdu.sco.qu", "iec60870_asdu.sco.se", "iec60870_asdu.dco", "iec60870_asdu.dco.on", "iec60870_asdu.dco.qu", "iec60870_asdu.dco.se", "iec60870_asdu.rco", "iec60870_asdu.rco.up", "iec60870_asdu.rco.qu", "iec60870_asdu.rco.se", "iec60870_asdu.qpm", "iec60870_asdu.qpm.kpa", "iec60870_asdu.qpm.lpc", "iec60870_asdu.qpm.pop", "iec60870_asdu.coi", "iec60870_asdu.coi_r", "iec60870_asdu.coi_i", "iec60870_asdu.qoi", "iec60870_asdu.qcc", "iec60870_asdu.rqt", "iec60870_asdu.frz", "iec60870_asdu.qrp", "iec60870_asdu.bcr.count", "iec60870_asdu.bcr.sq", "iec60870_asdu.bcr.cy", "iec60870_asdu.bcr.ca", "iec60870_asdu.bcr.iv", "iec60870_asdu.start", "iec60870_asdu.bitstring", "iec60870_asdu.float", "iec60870_asdu.normval", "iec60870_asdu.scalval", "iec60870_asdu.rawdata"];
const out = execFileSync('tshark', ['-r', '/tmp/t/p.pcap', '-T', 'fields', '-E', 'header=y', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'frame.number', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
const lines = out.trim().split('\n');
const hdr = lines[0].split('\t');
lines.slice(1).forEach((l, k) => {
  const c = l.split('\t');
  const o: Record<string, string> = {};
  c.forEach((v, i) => { if (v !== '') o[hdr[i].replace('iec60870_asdu.', '')] = v; });
  console.log(names[k], JSON.stringify(o));
});
