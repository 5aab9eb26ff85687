import { layoutProcess } from 'bpmn-auto-layout';
import { readFileSync, writeFileSync } from 'node:fs';
for (const path of process.argv.slice(2)) {
  const xml = readFileSync(path, 'utf8');
  const out = await layoutProcess(xml);
  writeFileSync(path + '.laid', out);
  console.log('laid out', path);
}
