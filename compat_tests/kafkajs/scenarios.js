'use strict'
// kafkajs against a kbroker, driven by compat_tests/test_kafkajs.py:
//   node scenarios.js <scenario> '<json args>'
// prints one JSON object on stdout (what kafkajs saw); kafkajs logs go to stderr.
// Scenarios only record; the Python test makes the assertions.

const net = require('net')
const { Kafka, logLevel, CompressionTypes, Partitioners, AssignerProtocol, ConfigResourceTypes } = require('kafkajs')

const [, , scenario, rawArgs] = process.argv
const args = JSON.parse(rawArgs || '{}')
const bootstrap = args.bootstrap

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

function logCreator() {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
  }
}

function kafka(clientId, extra = {}) {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 },
    ...extra,
  })
}

function producerOf(client, extra = {}) {
  return client.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...extra })
}

// Short timeouts: the broker's group.min.session.timeout.ms is 6000, and a heartbeat is only
// sent between fetches, so fetches must not wait long.
function consumerOf(client, groupId, extra = {}) {
  return client.consumer({
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 100,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 },
    ...extra,
  })
}

async function waitFor(predicate, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)
    await sleep(20)
  }
}

// Waits for `count` messages, then `quietMs` more to catch any extra one.
async function waitCount(list, count, what, quietMs = 300) {
  await waitFor(() => list.length >= count, () => `${count} ${what} (have ${list.length})`)
  await sleep(quietMs)
}

function headersOf(headers) {
  const out = {}
  for (const [key, value] of Object.entries(headers || {})) {
    out[key] = Array.isArray(value) ? value.map(v => v.toString()) : value == null ? null : value.toString()
  }
  return out
}

function received(topic, partition, message) {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key == null ? null : message.key.toString(),
    value: message.value == null ? null : message.value.toString(),
    headers: headersOf(message.headers),
    timestamp: Number(message.timestamp),
  }
}

function groupView(group) {
  return {
    ...group,
    members: group.members.map(m => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: normalizeMetadata(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)),
      memberAssignment: normalizeMetadata(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)),
    })),
  }
}

function normalizeMetadata(decoded) {
  if (decoded == null) return decoded
  return { ...decoded, userData: decoded.userData == null ? null : decoded.userData.toString('hex') }
}

// ------------------------------------------------------------------------------------ scenarios

// (1) admin: create a 3-partition topic (and again: already there), list, metadata, offsets, delete.
async function admin() {
  const { topic, other } = args
  const adminClient = kafka('kafkajs-admin').admin()
  await adminClient.connect()
  try {
    const out = {}
    out.created = await adminClient.createTopics({
      topics: [{ topic, numPartitions: 3 }, { topic: other, numPartitions: 1 }],
      timeout: 5000,
    })
    out.createdAgain = await adminClient.createTopics({ topics: [{ topic, numPartitions: 3 }], timeout: 5000 })
    out.listed = (await adminClient.listTopics()).filter(t => t === topic || t === other).sort()
    out.metadata = await adminClient.fetchTopicMetadata({ topics: [topic] })
    out.cluster = await adminClient.describeCluster()
    out.offsets = await adminClient.fetchTopicOffsets(topic)
    await adminClient.deleteTopics({ topics: [topic], timeout: 5000 })
    out.listedAfterDelete = (await adminClient.listTopics()).filter(t => t === topic || t === other).sort()
    try {
      await adminClient.fetchTopicMetadata({ topics: [topic] })
      out.metadataAfterDelete = 'no error'
    } catch (e) {
      out.metadataAfterDelete = { name: e.name, type: e.type }
    }
    // kafkajs retries UNKNOWN_TOPIC_OR_PARTITION on DeleteTopics (metadata may lag): ask once
    const once = kafka('kafkajs-admin-once').admin({ retry: { retries: 0 } })
    await once.connect()
    try {
      await once.deleteTopics({ topics: [topic], timeout: 5000 })
      out.deleteAgain = 'no error'
    } catch (e) {
      out.deleteAgain = { name: e.name, cause: e.cause ? { name: e.cause.name, type: e.cause.type } : null }
    } finally {
      await once.disconnect()
    }
    return out
  } finally {
    await adminClient.disconnect()
  }
}

// (2) 1,000 keyed messages with headers, half plain, half gzip, through a consumer group.
async function produceConsume() {
  const { topic, group, count } = args
  const client = kafka('kafkajs-pc')
  const adminClient = client.admin()
  await adminClient.connect()
  await adminClient.createTopics({ topics: [{ topic, numPartitions: 3 }], timeout: 5000 })
  await adminClient.disconnect()

  const message = i => ({
    key: `key-${i % 17}`,
    value: `value-${i}`,
    headers: { index: String(i), codec: i < count / 2 ? 'none' : 'gzip', ...(i % 10 === 0 ? { tag: ['a', 'b'] } : {}) },
  })
  const producer = producerOf(client)
  await producer.connect()
  const sent = []
  const step = 100
  for (let start = 0; start < count; start += step) {
    const messages = []
    for (let i = start; i < Math.min(start + step, count); i++) messages.push(message(i))
    if (start < count / 2) {
      sent.push(await producer.send({ topic, messages, acks: -1 }))
    } else {
      const result = await producer.sendBatch({
        topicMessages: [{ topic, messages }],
        compression: CompressionTypes.GZIP,
        acks: -1,
      })
      sent.push(result)
    }
  }
  await producer.disconnect()

  const consumer = consumerOf(client, group)
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ topic: t, partition, message: m }) => {
      got.push(received(t, partition, m))
    },
  })
  await waitCount(got, count, 'messages')
  await consumer.disconnect()
  return { sent, received: got }
}

// (3) two consumers split a 4-partition topic, commit; a third resumes from the commits.
async function groupSplit() {
  const { topic, group } = args
  const client = kafka('kafkajs-split')
  const adminClient = client.admin()
  await adminClient.connect()
  await adminClient.createTopics({ topics: [{ topic, numPartitions: 4 }], timeout: 5000 })

  const joins = { a: [], b: [], c: [] }
  const got = { a: [], b: [], c: [] }
  const commitErrors = []
  const start = async (name, autoCommit) => {
    const consumer = consumerOf(kafka(`kafkajs-${name}`), group)
    consumer.on(consumer.events.GROUP_JOIN, e => joins[name].push(e.payload))
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit,
      eachMessage: async ({ topic: t, partition, message: m }) => {
        got[name].push(received(t, partition, m))
        if (!autoCommit) {
          try {
            await consumer.commitOffsets([{ topic: t, partition, offset: String(Number(m.offset) + 1) }])
          } catch (e) {
            commitErrors.push(`${name}: ${e.name} ${e.type || ''} ${e.message}`)
            throw e
          }
        }
      },
    })
    return consumer
  }
  const produceRound = async (from, to) => {
    const producer = producerOf(client)
    await producer.connect()
    const messages = []
    for (let i = from; i < to; i++) {
      for (let p = 0; p < 4; p++) messages.push({ partition: p, key: `k${p}`, value: `p${p}-${i}` })
    }
    await producer.send({ topic, messages, acks: -1 })
    await producer.disconnect()
  }
  const last = name => joins[name][joins[name].length - 1]
  const partitionsOf = name => (last(name) ? last(name).memberAssignment[topic] || [] : [])

  const a = await start('a', false)
  await waitFor(() => joins.a.length === 1, 'a to join')
  const b = await start('b', false)
  // b's join completes once a has rejoined: both then hold two partitions each
  await waitFor(
    () => joins.b.length >= 1 && joins.a.length >= 2 && partitionsOf('a').length + partitionsOf('b').length === 4,
    'the group to settle with a and b'
  )
  const whileRunning = (await adminClient.describeGroups([group])).groups.map(groupView)

  await produceRound(0, 10)
  await waitFor(() => got.a.length + got.b.length >= 40, '40 messages to a and b')
  await sleep(300)
  const committedBeforeLeaving = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  await Promise.all([a.disconnect(), b.disconnect()])
  const afterLeaving = (await adminClient.describeGroups([group])).groups.map(groupView)

  await produceRound(10, 15)
  const c = await start('c', true)
  await waitCount(got.c, 20, 'messages to c')
  await c.disconnect()
  const committedAtEnd = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  await adminClient.disconnect()
  return { joins, received: got, commitErrors, whileRunning, afterLeaving, committedBeforeLeaving, committedAtEnd }
}

// A socket factory that drops the connection instead of delivering the response to the n-th
// Produce request sent through it: the broker has appended the batch, the producer never hears.
function droppingSocketFactory(dropProduceNumber, events) {
  let produceRequests = 0
  return ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect)
    let target = null // correlation id of the produce request whose response is dropped
    let tail = Buffer.alloc(0) // received bytes from the start of the response frame not yet complete
    const write = socket.write
    socket.write = function (data, ...rest) {
      const buffer = Buffer.from(data)
      // kafkajs writes one whole request per call: size, api key, api version, correlation id
      if (buffer.length >= 12 && buffer.readInt16BE(4) === 0) {
        produceRequests += 1
        if (produceRequests === dropProduceNumber) {
          target = buffer.readInt32BE(8)
          events.push({ event: 'produce request sent', correlationId: target, apiVersion: buffer.readInt16BE(6) })
        }
      }
      return write.call(this, data, ...rest)
    }
    const emit = socket.emit
    socket.emit = function (event, ...rest) {
      if (event !== 'data') return emit.call(this, event, ...rest)
      const chunk = rest[0]
      const earlier = tail.length // bytes of `tail` that came in earlier chunks
      tail = Buffer.concat([tail, chunk])
      let position = 0
      // each response frame: size, correlation id (response header v0: Produce v7 is not flexible)
      while (tail.length - position >= 8) {
        if (target !== null && tail.readInt32BE(position + 4) === target) {
          events.push({ event: 'produce response dropped', correlationId: target })
          target = null
          if (position > earlier) emit.call(this, 'data', chunk.subarray(0, position - earlier))
          socket.destroy(new Error('response dropped by the test'))
          return true
        }
        const size = 4 + tail.readInt32BE(position)
        if (tail.length - position < size) break
        position += size
      }
      tail = tail.subarray(position)
      return emit.call(this, event, ...rest)
    }
    socket.setKeepAlive(true, 60000)
    return socket
  }
}

// (4) the response to the second of three sends is lost: kafkajs retries it. With
// idempotent: true the broker must recognise the retry; without, the batch is appended twice.
async function idempotent() {
  const { topic, idempotent: isIdempotent } = args
  const events = []
  const adminClient = kafka('kafkajs-idem-admin').admin()
  await adminClient.connect()
  await adminClient.createTopics({ topics: [{ topic, numPartitions: 1 }], timeout: 5000 })
  await adminClient.disconnect()

  const client = kafka('kafkajs-idem', { socketFactory: droppingSocketFactory(2, events) })
  // the client's retry settings replace kafkajs's default for an idempotent producer (retry forever),
  // so say it again here (a scenario that hangs is stopped by the timeout below)
  const retry = isIdempotent ? { retry: { initialRetryTime: 100, retries: Number.MAX_SAFE_INTEGER } } : {}
  const producer = producerOf(client, { idempotent: isIdempotent, maxInFlightRequests: 1, ...retry })
  await producer.connect()
  const sent = []
  for (let round = 0; round < 3; round++) {
    const messages = []
    for (let i = 0; i < 10; i++) messages.push({ key: `k${i}`, value: `r${round}-m${i}` })
    sent.push(await producer.send({ topic, messages, acks: -1 }))
  }
  await producer.disconnect()

  const consumer = consumerOf(kafka('kafkajs-idem-reader'), `${topic}-reader`)
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ topic: t, partition, message: m }) => {
      got.push(received(t, partition, m))
    },
  })
  await waitCount(got, isIdempotent ? 30 : 40, 'messages', 500)
  await consumer.disconnect()
  return { events, sent, received: got }
}

// (5) what the admin API says about a group: running, after it leaves, set/reset, deleted.
async function groupAdmin() {
  const { topic, group } = args
  const client = kafka('kafkajs-ga')
  const adminClient = client.admin()
  await adminClient.connect()
  await adminClient.createTopics({ topics: [{ topic, numPartitions: 3 }], timeout: 5000 })
  const producer = producerOf(client)
  await producer.connect()
  const messages = []
  for (let p = 0; p < 3; p++) for (let i = 0; i < 10; i++) messages.push({ partition: p, value: `p${p}-${i}` })
  await producer.send({ topic, messages, acks: -1 })
  await producer.disconnect()

  // commit up to offset 10 on partition 0, 5 on partition 1, nothing on partition 2
  const commitBelow = { 0: 10, 1: 5, 2: 0 }
  const joins = []
  const got = []
  const consumer = consumerOf(kafka('kafkajs-ga-member'), group)
  consumer.on(consumer.events.GROUP_JOIN, e => joins.push(e.payload))
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic: t, partition, message: m }) => {
      got.push(received(t, partition, m))
      const next = Number(m.offset) + 1
      if (next <= commitBelow[partition]) {
        await consumer.commitOffsets([{ topic: t, partition, offset: String(next) }])
      }
    },
  })
  await waitCount(got, 30, 'messages')

  const out = { joins, received: got.length }
  out.describedRunning = (await adminClient.describeGroups([group])).groups.map(groupView)
  out.listedRunning = (await adminClient.listGroups()).groups.filter(g => g.groupId === group)
  out.offsetsRunning = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  try {
    await adminClient.setOffsets({ groupId: group, topic, partitions: [{ partition: 2, offset: '3' }] })
    out.setWhileRunning = 'no error'
  } catch (e) {
    out.setWhileRunning = { name: e.name, message: e.message }
  }
  await consumer.disconnect()

  out.describedEmpty = (await adminClient.describeGroups([group])).groups.map(groupView)
  out.listedEmpty = (await adminClient.listGroups()).groups.filter(g => g.groupId === group)
  out.offsetsEmpty = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  out.offsetsAllTopics = await adminClient.fetchOffsets({ groupId: group })

  // setOffsets and resetOffsets join the group with a consumer of their own and take its default
  // maxWaitTimeInMs (5 s) each: all its partitions are paused, so it sleeps that long before committing
  await adminClient.setOffsets({ groupId: group, topic, partitions: [{ partition: 2, offset: '3' }] })
  out.offsetsAfterSet = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  await adminClient.resetOffsets({ groupId: group, topic, earliest: true })
  out.offsetsAfterReset = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  out.topicOffsets = await adminClient.fetchTopicOffsets(topic)
  out.offsetsByTimestamp = {
    // every message is younger: the first offset
    past: await adminClient.fetchTopicOffsetsByTimestamp(topic, 0),
    // none is this young: the broker answers -1, which kafkajs replaces with the high watermark
    future: await adminClient.fetchTopicOffsetsByTimestamp(topic, Date.now() + 3600 * 1000),
  }

  out.deleted = await adminClient.deleteGroups([group])
  out.listedDeleted = (await adminClient.listGroups()).groups.filter(g => g.groupId === group)
  out.describedDeleted = (await adminClient.describeGroups([group])).groups.map(groupView)
  out.offsetsDeleted = await adminClient.fetchOffsets({ groupId: group, topics: [topic] })
  await adminClient.disconnect()
  return out
}

// (6) configs: describe and alter a topic's and this broker's configs (kafkajs has no incremental form),
// a refused value, then more partitions (and a count that is not more).
async function configs() {
  const { topic } = args
  const adminClient = kafka('kafkajs-configs').admin({ retry: { retries: 0 } })
  await adminClient.connect()
  const described = async (type, name, configNames) => {
    const { resources } = await adminClient.describeConfigs({ includeSynonyms: true, resources: [{ type, name, configNames }] })
    return resources.map(r => ({
      errorCode: r.errorCode,
      configs: Object.fromEntries(r.configEntries.map(e => [e.configName, {
        value: e.configValue, source: e.configSource, readOnly: e.readOnly, isDefault: e.isDefault,
        synonyms: e.configSynonyms.map(s => [s.configName, s.configValue, s.configSource]),
      }])),
    }))
  }
  const altered = async (type, name, entries) => {
    try {
      const { resources } = await adminClient.alterConfigs({
        resources: [{ type, name, configEntries: Object.entries(entries).map(([k, v]) => ({ name: k, value: v })) }],
      })
      return resources.map(r => [r.errorCode, r.errorMessage])
    } catch (e) {
      return { name: e.name, type: e.type }
    }
  }
  try {
    const out = {}
    await adminClient.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], timeout: 5000,
    })
    const { TOPIC, BROKER } = ConfigResourceTypes
    out.topic = await described(TOPIC, topic, ['retention.ms', 'segment.bytes'])
    out.altered = await altered(TOPIC, topic, { 'segment.bytes': '1000' })
    out.topicAfter = await described(TOPIC, topic, ['retention.ms', 'segment.bytes'])
    out.refused = await altered(TOPIC, topic, { 'segment.bytes': '-1' })
    out.topicAfterRefused = await described(TOPIC, topic, ['segment.bytes'])
    out.broker = await described(BROKER, '1', ['num.partitions', 'log.retention.hours', 'advertised.listeners'])
    out.brokerAltered = await altered(BROKER, '1', { 'log.retention.ms': '7200000' })
    out.brokerRefused = await altered(BROKER, '1', { 'num.partitions': '7' })
    out.topicRetention = await described(TOPIC, topic, ['retention.ms'])
    await adminClient.createPartitions({ topicPartitions: [{ topic, count: 3 }], timeout: 5000 })
    out.grown = true
    out.partitions = (await adminClient.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length
    try {
      await adminClient.createPartitions({ topicPartitions: [{ topic, count: 2 }], timeout: 5000 })
      out.shrunk = 'no error'
    } catch (e) {
      out.shrunk = { name: e.name, type: e.type }
    }
    return out
  } finally {
    await adminClient.disconnect()
  }
}

// Over TLS and/or SASL (args.ssl: PEM texts {ca, cert, key}; args.sasl: {mechanism, username, password}):
// produce some values, read them back from the beginning; or report the connection's failure.
async function secureRoundTrip() {
  const fs = require('fs')
  const ssl = args.ssl ? Object.fromEntries(Object.entries(args.ssl).map(([k, v]) => [k, fs.readFileSync(v, 'utf8')])) : undefined
  const client = kafka('kafkajs-secure', { ssl, sasl: args.sasl, retry: { retries: 0 } })
  const producer = producerOf(client)
  try {
    await producer.connect()
  } catch (e) {
    return { error: e.type || e.name, message: e.message }
  }
  await producer.send({ topic: args.topic, messages: args.values.map(value => ({ value })) })
  await producer.disconnect()
  const consumer = consumerOf(client, `secure-${args.topic}`)
  const values = []
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value.toString()) } })
  await waitFor(() => values.length >= args.values.length, 'the values')
  await consumer.disconnect()
  return { values }
}

const scenarios = { admin, produceConsume, groupSplit, idempotent, groupAdmin, configs, secureRoundTrip }

async function main() {
  const run = scenarios[scenario]
  if (!run) throw new Error(`unknown scenario ${scenario}`)
  const out = await run()
  // a pipe is written asynchronously: exit once it has all been written
  await new Promise(resolve => process.stdout.write(JSON.stringify(out) + '\n', resolve))
}

// a hung client must not hang the test run
setTimeout(() => {
  process.stderr.write(`scenario ${scenario} timed out\n`)
  process.exit(3)
}, Number(args.timeoutMs || 45000)).unref()

main().then(
  () => process.exit(0),
  e => {
    process.stderr.write(`scenario ${scenario} failed: ${e.stack || e}\n`)
    if (e.errors) process.stderr.write(`errors: ${JSON.stringify(e.errors)}\n`)
    process.exit(1)
  }
)
