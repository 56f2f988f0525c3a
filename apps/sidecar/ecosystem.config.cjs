// pm2 process file: `pm2 start ecosystem.config.cjs --only sidecar` (from apps/sidecar, after
// `pnpm build` at the repository root). Configuration comes from the environment and ./.env;
// see docs/deployment.md.
module.exports = {
  apps: [
    {
      name: 'sidecar',
      script: 'dist/main.js',
      cwd: __dirname,
      node_args:
        '--max-semi-space-size=128 --min-semi-space-size=16 --no-allocation-site-pretenuring --enable-source-maps',
      exec_mode: 'fork', // one collector per SQLite file: never cluster mode
      instances: 1,
      autorestart: true,
      // A configuration error exits 78; restarting cannot fix it, so pm2 stops trying.
      stop_exit_codes: [0, 78],
      restart_delay: 2000,
      exp_backoff_restart_delay: 1000,
      max_memory_restart: '1G',
      // SIGTERM, then up to 10 s for the loop to stop and SQLite to flush before SIGKILL.
      kill_timeout: 10000,
      // Logs are JSON lines (NODE_ENV=production); pm2 adds no prefix of its own.
      time: false,
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
