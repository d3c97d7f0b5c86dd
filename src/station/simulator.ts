/**
 * Simulated process changes for the RTU simulator: random walks, toggles, periodic (sine) values
 * and counters, each driven by the station's clock and written with `station.update`.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';
import type { PointSimulation, Simulation } from './config.js';
import type { CounterValue, StationPoint, StationPointValue, StepPosition } from './point-database.js';
import type { ControlledStation } from './station.js';

/** Options of {@link startSimulations}. */
export interface SimulatorOptions {
  /** Default: the station's clock. */
  clock?: Clock;
  /** Uniform random numbers in [0, 1) (default Math.random; tests inject a sequence). */
  random?: () => number;
  logger?: Logger;
}

/** The next value of a point under a simulation (`t` = clock ms, for periodic). Undefined = no change this time. */
export function nextSimulatedValue(p: StationPoint, s: Simulation, t: number, random: () => number): StationPointValue | undefined {
  const clamp = (v: number, min: number, max: number) => Math.min(max, Math.max(min, v));
  const limits = (): [number, number] => {
    switch (p.kind) {
      case 'normalized':
      case 'normalized-no-quality': return [-1, 32767 / 32768];
      case 'scaled': return [-32768, 32767];
      case 'step': return [-64, 63];
      default: return [-Infinity, Infinity];
    }
  };
  const shape = (v: number): StationPointValue => {
    const [lo, hi] = limits();
    let x = clamp(v, lo, hi);
    if (p.kind === 'scaled' || p.kind === 'step') x = Math.round(x);
    return p.kind === 'step' ? { value: x, transient: false } : x;
  };
  const current = (): number => (p.kind === 'step' ? (p.value as StepPosition).value : p.kind === 'counter' ? (p.value as CounterValue).value : (p.value as number));
  switch (s.kind) {
    case 'random-walk': {
      const v = current() + (random() * 2 - 1) * s.step;
      return shape(clamp(v, s.min ?? -Infinity, s.max ?? Infinity));
    }
    case 'periodic':
      return shape(s.offset + s.amplitude * Math.sin((2 * Math.PI * t) / s.wavePeriodMs));
    case 'toggle':
      if ((s.probability ?? 1) < 1 && random() >= (s.probability ?? 1)) return undefined;
      if (p.kind === 'single') return !(p.value as boolean);
      return p.value === 2 ? 1 : 2;
    case 'counter': {
      if (p.kind === 'counter') {
        const c = p.value as CounterValue;
        const next = c.value + s.increment;
        const wrapped = next > 2147483647 ? next - 4294967296 : next;
        return { value: Math.trunc(wrapped), ...(next > 2147483647 ? { carry: true } : {}) };
      }
      return shape(current() + s.increment);
    }
  }
}

/**
 * Start the simulations; returns a function that stops them. Each simulation re-arms its own
 * timer every `periodMs`; a point that cannot take the value (misconfiguration) is logged once and
 * its simulation stops.
 */
export function startSimulations(station: ControlledStation, sims: readonly PointSimulation[], o: SimulatorOptions = {}): () => void {
  const clock = o.clock ?? station.clock;
  const random = o.random ?? Math.random;
  const log = o.logger ?? nullLogger;
  const timers = new Map<number, TimerHandle>();
  let stopped = false;
  sims.forEach((sim, i) => {
    const p = station.point(sim.ca, sim.ioa);
    if (!p) {
      log.log('warn', 'simulator.unknown_point', `simulation for unknown point CA ${sim.ca} IOA ${sim.ioa} ignored`, { ca: sim.ca, ioa: sim.ioa });
      return;
    }
    const tick = (): void => {
      if (stopped) return;
      try {
        const v = nextSimulatedValue(p, sim.simulation, clock.now(), random);
        if (v !== undefined) station.update(sim.ca, sim.ioa, v);
      } catch (e) {
        log.log('error', 'simulator.failed', `simulation of CA ${sim.ca} IOA ${sim.ioa} stopped: ${e instanceof Error ? e.message : String(e)}`, { ca: sim.ca, ioa: sim.ioa });
        timers.delete(i);
        return;
      }
      timers.set(i, clock.setTimeout(tick, sim.simulation.periodMs));
    };
    timers.set(i, clock.setTimeout(tick, sim.simulation.periodMs));
  });
  return () => {
    stopped = true;
    for (const t of timers.values()) clock.clearTimeout(t);
    timers.clear();
  };
}
