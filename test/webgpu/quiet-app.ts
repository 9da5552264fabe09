// A program run by quiet.test.ts: Dawn warns on stderr while it starts, and so does the program.
import '@kts/webgpu/quiet';
import { initWebGPU, shutdownWebGPU } from '@kts/webgpu';

console.error('own line before');
try {
  await initWebGPU();
} catch (e) {
  console.error(String(e));
}
console.error('own line after');
shutdownWebGPU();
process.exitCode = 7;
