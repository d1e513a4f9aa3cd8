import type { Buffer } from "./buffers.js";
import { type Channel, chan } from "./channel.js";
import { MultImpl } from "./mult.js";
import { spawn } from "./spawn.js";

/** Topic-based fan-out (core.async `pub`). */
export interface Pub<T, Topic> {
  /** Subscribes `ch` to `topic`; closed when the source closes unless `close` is false. Returns `ch`. */
  sub<C extends Channel<unknown, T>>(topic: Topic, ch: C, close?: boolean): C;
  /** Unsubscribes `ch` from `topic`; it is not closed. */
  unsub(topic: Topic, ch: Channel<unknown, T>): void;
  /** Unsubscribes everything from `topic`, or from every topic when none is given. */
  unsubAll(topic?: Topic): void;
}

interface TopicEntry<T> {
  readonly ch: Channel<T>;
  readonly mult: MultImpl<T>;
}

/**
 * Partitions the values of `source` by `topicFn(value)`; each topic is a `mult` fed through
 * its own channel, buffered by `bufFn(topic)` (unbuffered by default). Values for a topic
 * nobody subscribes to are dropped. With unbuffered topics, each value is accepted by every
 * subscriber of its topic before the next goes out; a buffer lets a slow topic lag without
 * holding up the others, until it fills.
 *
 * Unlike core.async, a topic whose last subscriber leaves (by `unsub`, or found closed) is
 * forgotten (its channel closed), so a pub with many short-lived topics keeps no memory for them.
 */
export function pub<T, Topic>(
  source: Channel<T, unknown>,
  topicFn: (value: T) => Topic,
  bufFn: (topic: Topic) => number | Buffer<T> | null | undefined = noBuffer,
): Pub<T, Topic> {
  const p = new PubImpl(source, topicFn, bufFn);
  spawn(p.run(), "pub");
  return p;
}

const NO_TOPIC: unique symbol = Symbol("wirechan.noTopic");

function noBuffer(): null {
  return null;
}

class PubImpl<T, Topic> implements Pub<T, Topic> {
  readonly #topics = new Map<Topic, TopicEntry<T>>();
  #sourceClosed = false;

  readonly #source: Channel<T, unknown>;
  readonly #topicFn: (value: T) => Topic;
  readonly #bufFn: (topic: Topic) => number | Buffer<T> | null | undefined;

  constructor(source: Channel<T, unknown>, topicFn: (value: T) => Topic, bufFn: (topic: Topic) => number | Buffer<T> | null | undefined) {
    this.#source = source;
    this.#topicFn = topicFn;
    this.#bufFn = bufFn;
  }

  sub<C extends Channel<unknown, T>>(topic: Topic, ch: C, close = true): C {
    if (this.#sourceClosed) {
      if (close) ch.close();
      return ch;
    }
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      const topicCh = chan<T>(this.#bufFn(topic));
      const m = new MultImpl(topicCh);
      spawn(m.run(), "pub topic");
      const created: TopicEntry<T> = { ch: topicCh, mult: m };
      // A subscriber that closed its channel has left too: forget the topic if it was the last.
      m.onEmpty = () => {
        if (this.#topics.get(topic) === created) this.#forget(topic, created);
      };
      entry = created;
      this.#topics.set(topic, entry);
    }
    return entry.mult.tap(ch, close);
  }

  unsub(topic: Topic, ch: Channel<unknown, T>): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return;
    entry.mult.untap(ch);
    if (entry.mult.size === 0) this.#forget(topic, entry);
  }

  unsubAll(topic?: Topic): void {
    if (arguments.length === 0) {
      for (const [t, entry] of this.#topics) this.#forget(t, entry);
      return;
    }
    const entry = this.#topics.get(topic as Topic);
    if (entry !== undefined) this.#forget(topic as Topic, entry);
  }

  /** A throwing `topicFn` loses that one value (reported), not the whole pub. */
  #topicOf(value: T): Topic | typeof NO_TOPIC {
    try {
      return this.#topicFn(value);
    } catch (error) {
      console.error("wirechan: pub's topicFn threw; the value was dropped:", error);
      return NO_TOPIC;
    }
  }

  #forget(topic: Topic, entry: TopicEntry<T>): void {
    entry.mult.untapAll(); // so closing the topic channel closes no subscriber
    entry.ch.close();
    this.#topics.delete(topic);
  }

  async run(): Promise<void> {
    for (;;) {
      const value = await this.#source.take();
      if (value === undefined) {
        this.#sourceClosed = true;
        for (const entry of this.#topics.values()) entry.ch.close();
        return;
      }
      const topic = this.#topicOf(value);
      if (topic === NO_TOPIC) continue;
      const entry = this.#topics.get(topic);
      if (entry !== undefined && !(await entry.ch.put(value)) && this.#topics.get(topic) === entry) {
        this.#topics.delete(topic); // a topic channel closed under us: forget it, as core.async does
      }
    }
  }
}
