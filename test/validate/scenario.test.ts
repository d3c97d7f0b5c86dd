import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { evalExpression, parseHex, parseScenario, resolveTemplate, ScenarioError } from '../../src/validate/scenario.js';
import { runScenario } from '../../src/validate/scenario-runner.js';
import { formatResults, toJUnit, totals } from '../../src/validate/report.js';
import { startFakeStation } from './fake-station.js';
import { checkXml } from './xml-check.js';

function parseError(text: string): ScenarioError {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `expected a ScenarioError, got ${String(e)}`);
    return e;
  }
  assert.fail('the scenario parsed');
}

test('scenario errors name line and column', () => {
  const syntax = parseError('name: x\nsteps:\n  - connect\n  - wait: 5: 6\n  - startdt\n');
  assert.deepEqual([syntax.line, syntax.column], [4, 11]);
  assert.match(syntax.message, /^bad\.yaml:4:11: Nested mappings/);

  const unknownStep = parseError('name: x\nsteps:\n  - connect\n  - startdt\n  - fly: 3\n');
  assert.deepEqual([unknownStep.line, unknownStep.column], [5, 5]);
  assert.match(unknownStep.reason, /one action key/);

  const badType = parseError('steps:\n  - command: { type: C_XX_NA_1, ca: 1, ioa: 5 }\n');
  assert.deepEqual([badType.line, badType.column], [2, 22]);
  assert.match(badType.reason, /unknown type identification/);

  const badKey = parseError('steps:\n  - expect: { type: 45, cause: 7 }\n');
  assert.deepEqual([badKey.line, badKey.column], [2, 25]);
  assert.match(badKey.reason, /unknown key 'cause'/);

  const twoActions = parseError('steps:\n  - connect: {}\n    startdt: {}\n');
  assert.deepEqual([twoActions.line, twoActions.column], [3, 5]);

  const noSteps = parseError('name: x\n');
  assert.deepEqual([noSteps.line, noSteps.column], [1, 1]);
  assert.match(noSteps.reason, /needs 'steps'/);

  const badHex = parseError('steps:\n  - connect\n  - raw: "68 0G"\n');
  assert.deepEqual([badHex.line, badHex.column], [3, 10]);

  const badRepeat = parseError('steps:\n  - repeat: -1\n    steps: [connect]\n');
  assert.equal(badRepeat.line, 2);
  const badPn = parseError('steps:\n  - expect: { pn: maybe }\n');
  assert.match(badPn.reason, /positive/);
});

test('the shipped example scenarios parse', () => {
  for (const f of ['interrogation', 'sbo-command', 'protocol-violation']) {
    const path = new URL(`../../examples/scenarios/${f}.yaml`, import.meta.url);
    const sc = parseScenario(readFileSync(path, 'utf8'), `${f}.yaml`);
    assert.ok(sc.steps.length >= 5, f);
    assert.equal(sc.steps[0].kind, 'connect');
  }
});

test('templates: variables, arithmetic, text', () => {
  assert.equal(evalExpression('ioa + i * 2', { ioa: 5000, i: 3 }), 5006);
  assert.equal(evalExpression('(i % 2) + 1', { i: 3 }), 2);
  assert.deepEqual(resolveTemplate({ ioa: '${base + 1}', name: 'p${base}' }, { base: 10 }), { ioa: 11, name: 'p10' });
  assert.throws(() => evalExpression('nope + 1', {}), /unknown variable 'nope'/);
  assert.deepEqual([...parseHex('68 04 43 00 00 00')], [0x68, 4, 0x43, 0, 0, 0]);
  assert.deepEqual([...parseHex('0x68,0x04 # comment')], [0x68, 4]);
});

const SCENARIO = `
name: fake station session
vars: { ca: 1, sbo: 5001 }
timeout: 1000
steps:
  - connect
  - startdt
  - testfr
  - interrogation: { ca: "\${ca}" }
  - expect: { type: C_IC_NA_1, cot: actcon, pn: positive }
  - expect: { type: M_SP_NA_1, cot: inrogen, ioa: 102, value: off }
  - expect: { type: C_IC_NA_1, cot: actterm }
  - name: execute without select
    command: { type: C_SC_NA_1, ca: 1, ioa: "\${sbo}", value: on }
  - expect: { type: C_SC_NA_1, cot: actcon, pn: negative }
  - repeat: 2
    as: n
    steps:
      - command: { type: C_SC_NA_1, ca: 1, ioa: 5000, value: "\${1 - n}" }
      - expect: { type: C_SC_NA_1, cot: actcon, pn: positive, ioa: 5000 }
      - expect: { type: M_SP_NA_1, cot: spont, ioa: 100 }
  - command: { type: C_SC_NA_1, ca: 1, ioa: 99999, value: on }
  - expect: { cot: unknown_ioa, pn: negative, ioa: 99999 }
  - expect-none: { cot: spont }
    timeout: 50
  - wait: 10
  - raw: "68 04 0F 00 00 00"
  - expect-close
  - disconnect
`;

test('a scenario runs against a scripted station: every step passes, timed, with its line', async () => {
  const st = await startFakeStation();
  try {
    const sc = parseScenario(SCENARIO, 'session.yaml');
    const r = await runScenario(sc, { target: { host: '127.0.0.1', port: st.port }, t0: 2000 });
    const failed = r.cases.filter((c) => c.status !== 'pass');
    assert.deepEqual(failed, [], formatResults([r]));
    assert.equal(r.cases.length, 22);
    assert.ok(r.cases.some((c) => c.id === 'step 10.2[n=1]'), 'loop steps carry the index');
    assert.equal(r.cases.find((c) => c.name === 'execute without select')?.line, 13);
    assert.ok(r.cases.every((c) => c.ms >= 0));
    assert.deepEqual(st.executed, [{ ioa: 5000, value: true }, { ioa: 5000, value: false }], 'the loop toggled; the refused command did not execute');
  } finally {
    await st.close();
  }
});

test('a failing expectation fails its step, skips the rest, and the JUnit XML is well-formed', async () => {
  const st = await startFakeStation({ misbehave: { noActTerm: true } });
  try {
    const sc = parseScenario(
      `name: "interrogation <& termination>"
steps:
  - connect
  - startdt
  - interrogation: 1
  - expect: { type: C_IC_NA_1, cot: actcon }
  - expect: { type: C_IC_NA_1, cot: actterm }
    timeout: 150
  - stopdt
  - disconnect
`,
      'term.yaml',
    );
    const r = await runScenario(sc, { target: { host: '127.0.0.1', port: st.port } });
    assert.deepEqual(r.cases.map((c) => c.status), ['pass', 'pass', 'pass', 'pass', 'fail', 'skip', 'skip']);
    const f = r.cases[4];
    assert.match(f.message ?? '', /C_IC_NA_1 actterm: nothing within 150 ms/);
    assert.match(f.message ?? '', /unmatched ASDUs received: M_SP_NA_1 inrogen/);
    assert.ok(f.ms >= 140);
    const xml = toJUnit([r]);
    const names = checkXml(xml);
    assert.equal(names[0], 'testsuites');
    assert.equal(names.filter((n) => n === 'testcase').length, 7);
    assert.equal(names.filter((n) => n === 'failure').length, 1);
    assert.equal(names.filter((n) => n === 'skipped').length, 2);
    assert.match(xml, /<testsuites name="iec104" tests="7" failures="1" errors="0" skipped="2"/);
    assert.match(xml, /name="interrogation &lt;&amp; termination&gt;"/);
    assert.match(xml, /line="7"/);
    assert.deepEqual(totals([r]), { tests: 7, passed: 4, failed: 1, skipped: 2, errors: 0 });
  } finally {
    await st.close();
  }
});

test('a scenario against a closed port fails at connect with the diagnosis', async () => {
  const st = await startFakeStation();
  const port = st.port;
  await st.close();
  const r = await runScenario(parseScenario('steps:\n  - connect\n  - startdt\n', 'x.yaml'), { target: { host: '127.0.0.1', port }, t0: 1000 });
  assert.equal(r.cases[0].status, 'fail');
  assert.match(r.cases[0].message ?? '', /connection refused/);
  assert.equal(r.cases[1].status, 'skip');
});
