// The YAML language service runs in this worker (bundled by Vite, served from our own origin).
import 'monaco-yaml/yaml.worker.js';
