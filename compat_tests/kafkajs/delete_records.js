'use strict'
// kafkajs's admin.deleteTopicRecords against a kbroker, driven by compat_tests/test_delete_records.py:
//   node delete_records.js '{"bootstrap": ..., "topic": ..., "partitions": [{"partition": 0, "offset": "4"}]}'
// prints one JSON object on stdout: {"deleted": true} or {"error": {name, type}} (of the first
// partition that failed), and each partition's low watermark (fetchTopicOffsets' "low") afterwards.

const { Kafka, logLevel } = require('kafkajs')

const args = JSON.parse(process.argv[2])

async function main() {
  const admin = new Kafka({
    clientId: 'kafkajs-delete-records', brokers: [args.bootstrap], logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin()
  await admin.connect()
  const out = {}
  try {
    // kafkajs finds the partitions' leaders in metadata it must have loaded already
    await admin.fetchTopicMetadata({ topics: [args.topic] })
    try {
      await admin.deleteTopicRecords({ topic: args.topic, partitions: args.partitions })
      out.deleted = true
    } catch (e) {
      const records = e.partitions ? e : (e.cause || e)   // the retrier wraps the error once it gives up
      const failed = (records.partitions || []).map(p => p.error)
      const cause = failed[0] || records
      out.error = { name: cause.name, type: cause.type }
    }
    out.low = (await admin.fetchTopicOffsets(args.topic)).map(p => [p.partition, p.low]).sort((a, b) => a[0] - b[0])
  } finally {
    await admin.disconnect()
  }
  await new Promise(resolve => process.stdout.write(JSON.stringify(out) + '\n', resolve))
}

setTimeout(() => { process.stderr.write('timed out\n'); process.exit(3) }, 30000).unref()
main().then(() => process.exit(0), e => { process.stderr.write(`${e.stack || e}\n`); process.exit(1) })
