import { PrismaPg } from '@prisma/adapter-pg';
import { RecordedRequestSchema } from '@gatehouse/contracts';
import { PrismaService } from '../src/database/prisma.service';
import { ReplayRepository } from '../src/replay/replay.repository';
import { compilePolicy, replayRequests } from '../src/traffic-policy/policy-engine';
async function main() {
  const prisma = new PrismaService(new PrismaPg({ connectionString: 'postgresql://postgres@127.0.0.1:5432/gatehouse_replay_bench' }));
  const rows = await new ReplayRepository(prisma).listRecordedRequests('ep_bench_replay', 10000);
  const parsed = rows.map((row) => ({ id: row.id, timeMs: row.timestamp.getTime(), facts: RecordedRequestSchema.parse(row.facts) })).reverse();
  const src = (await prisma.policyVersion.findFirst({ where: { endpointId: 'ep_bench_replay' } }))!.source;
  const policy = compilePolicy(src, { endpointType: 'cloud' });
  for (let i = 0; i < 4; i++) {
    const t = performance.now();
    await replayRequests(policy, parsed, { id: 'ep', url: 'https://mcp.example.com', host: 'mcp.example.com', type: 'cloud' });
    console.log(performance.now() - t);
  }
  await prisma.$disconnect();
}
void main();
