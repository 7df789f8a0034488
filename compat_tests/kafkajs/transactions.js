'use strict'
// kafkajs transactions against a kbroker, driven by compat_tests/test_kafkajs_transactions.py:
//   node transactions.js <scenario> '<json args>'
// prints what kafkajs saw as one JSON object on stdout ("ready"/"sent" lines first for the
// scenarios the test interrupts); kafkajs logs go to stderr. The Python test makes the assertions.

const readline = require('readline')
const { Kafka, logLevel, Partitioners } = require('kafkajs')

const [, , scenario, rawArgs] = process.argv
const args = JSON.parse(rawArgs || '{}')

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

function kafka(clientId) {
  return new Kafka({
    clientId,
    brokers: [args.bootstrap],
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, label, log }) => {
      const { message, ...extra } = log
      process.stderr.write(`${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
    },
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 50, maxRetryTime: 1000, retries: 10 },
  })
}

function transactionalProducer(client, transactionalId) {
  return client.producer({
    transactionalId,
    maxInFlightRequests: 1,
    idempotent: true,
    transactionTimeout: args.transactionTimeout || 10000,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
}

function consumerOf(client, groupId, readUncommitted) {
  return client.consumer({
    groupId, readUncommitted, sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 300,
    maxWaitTimeInMs: 100, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 },
  })
}

async function waitFor(predicate, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await sleep(20)
  }
}

// Reads the topic from the beginning in a fresh group until `count` messages, then a little more.
async function readAll(client, topic, count, readUncommitted) {
  const consumer = consumerOf(client, `${topic}-reader-${readUncommitted}-${Date.now()}`, readUncommitted)
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: Number(message.offset), value: message.value.toString() })
    },
  })
  await waitFor(() => got.length >= count, () => `${count} messages (have ${got.length})`)
  await sleep(300)
  await consumer.disconnect()
  return got
}

function batch(tag, count) {
  return Array.from({ length: count }, (_, i) => ({ value: `${tag}-${String(i).padStart(2, '0')}`, partition: i % 2 }))
}

// ------------------------------------------------------------------------------------ scenarios

// Three transactions, the middle one aborted; then what read_committed and read_uncommitted see.
async function visibility() {
  const client = kafka('kafkajs-txn')
  const producer = transactionalProducer(client, args.transactionalId)
  await producer.connect()
  for (const [tag, count, commit] of [['one', 10, true], ['aborted', 6, false], ['two', 10, true]]) {
    const txn = await producer.transaction()
    await txn.send({ topic: args.topic, messages: batch(tag, count) })
    await (commit ? txn.commit() : txn.abort())
  }
  await producer.disconnect()
  return {
    committed: await readAll(client, args.topic, 20, false),
    everything: await readAll(client, args.topic, 26, true),
  }
}

// Consume-transform-produce: each batch of the source, upper-cased, with its offsets, in one transaction.
async function copy() {
  const client = kafka('kafkajs-copy')
  const producer = transactionalProducer(client, args.transactionalId)
  const consumer = consumerOf(client, args.group, false)
  await producer.connect()
  await consumer.connect()
  await consumer.subscribe({ topic: args.source, fromBeginning: true })
  let copied = 0
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch: { topic, partition, messages } }) => {
      if (messages.length === 0) return
      const txn = await producer.transaction()
      await txn.send({ topic: args.target,
                       messages: messages.map(m => ({ value: m.value.toString().toUpperCase(), partition })) })
      const next = String(Number(messages[messages.length - 1].offset) + 1)
      await txn.sendOffsets({ consumerGroupId: args.group, topics: [{ topic, partitions: [{ partition, offset: next }] }] })
      await txn.commit()
      copied += messages.length
    },
  })
  await waitFor(() => copied >= args.count, () => `${args.count} copied (have ${copied})`)
  await consumer.disconnect()
  await producer.disconnect()
  return { copied, output: await readAll(client, args.target, args.count, false) }
}

// A second producer with the same transactional id fences the first, which then tries to commit.
// (kafkajs initialises a transactional producer's id with its first transaction.)
async function fence() {
  const client = kafka('kafkajs-fence')
  const zombie = transactionalProducer(client, args.transactionalId)
  await zombie.connect()
  const old = await zombie.transaction()
  await old.send({ topic: args.topic, messages: [{ value: 'zombie', partition: 0 }] })
  const fresh = transactionalProducer(client, args.transactionalId)
  await fresh.connect()
  const txn = await fresh.transaction()
  let zombieError = 'no error'
  try {
    await old.commit()
  } catch (e) {
    zombieError = e.type || e.name
  }
  await txn.send({ topic: args.topic, messages: [{ value: 'fresh', partition: 0 }] })
  await txn.commit()
  await fresh.disconnect()
  await zombie.disconnect().catch(() => {})
  return { zombieError, committed: await readAll(client, args.topic, 1, false) }
}

// Sends in a transaction, says "ready", and waits to be killed.
async function zombie() {
  const producer = transactionalProducer(kafka('kafkajs-zombie'), args.transactionalId)
  await producer.connect()
  const txn = await producer.transaction()
  await txn.send({ topic: args.topic, messages: batch('doomed', 5).map(m => ({ ...m, partition: 0 })) })
  process.stdout.write('ready\n')
  await sleep(600000)
}

// Sends in a transaction, says "sent", waits for a line on stdin (the broker restarted), commits.
async function restart() {
  const client = kafka('kafkajs-restart')
  const producer = transactionalProducer(client, args.transactionalId)
  await producer.connect()
  const txn = await producer.transaction()
  await txn.send({ topic: args.topic, messages: args.values.map(value => ({ value, partition: 0 })) })
  process.stdout.write('sent\n')
  await new Promise(resolve => readline.createInterface({ input: process.stdin }).once('line', resolve))
  await txn.commit()
  await producer.disconnect()
  return { committed: await readAll(client, args.topic, args.values.length, false) }
}

const scenarios = { visibility, copy, fence, zombie, restart }

async function main() {
  const run = scenarios[scenario]
  if (!run) throw new Error(`unknown scenario ${scenario}`)
  const out = await run()
  await new Promise(resolve => process.stdout.write(JSON.stringify(out) + '\n', resolve))
}

setTimeout(() => {
  process.stderr.write(`scenario ${scenario} timed out\n`)
  process.exit(3)
}, Number(args.timeoutMs || 60000)).unref()

main().then(
  () => process.exit(0),
  e => {
    process.stderr.write(`scenario ${scenario} failed: ${e.stack || e}\n`)
    process.exit(1)
  }
)
