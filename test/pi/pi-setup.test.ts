import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { start } from '../../scripts/commands/start';

const ROOT = path.join(__dirname, '../..');
const SETUP = path.join(ROOT, 'scripts/pi-setup.sh');

function setup(...args: string[]) {
  return spawnSync('bash', [SETUP, ...args], { encoding: 'utf8', cwd: ROOT });
}

describe('scripts/pi-setup.sh and the systemd unit', () => {
  it('parses (bash -n) and is shellcheck-clean where shellcheck is installed', () => {
    expect(spawnSync('bash', ['-n', SETUP]).status).toBe(0);
    const shellcheck = spawnSync('shellcheck', ['--version']);
    if (shellcheck.status === 0) {
      const result = spawnSync('shellcheck', [SETUP], { encoding: 'utf8' });
      expect(result.stdout).toBe('');
    }
  });

  it('--dry-run shows every step and changes nothing', () => {
    const data = '/var/lib/reader-sim-dry-run-test';
    const result = setup('--dry-run', '--user', 'hiltest', '--data', data);
    expect(result.status).toBe(0);
    const out = result.stdout;
    // Each step either says it is already done ("ok:") or shows the command it would run.
    expect(out).toMatch(/pi-setup: (ok: packages|installing .*)/);
    expect(out).toMatch(/pi-setup: ok: node v\d+/);
    expect(out).toContain('+ useradd --system --create-home --shell /usr/sbin/nologin hiltest');
    expect(out).toMatch(/\+ usermod -aG gpio hiltest/);
    expect(out).toMatch(
      /\+ setcap cap_net_raw,cap_net_admin\+eip \/\S*node|ok: \S+ has cap_net_raw,cap_net_admin/,
    );
    expect(out).toContain(`+ install -d -o hiltest -g hiltest -m 0750 ${data}`);
    expect(out).toContain('+ systemctl enable reader-sim.service');
    expect(fs.existsSync(data)).toBe(false);
    expect(spawnSync('id', ['-u', 'hiltest']).status).not.toBe(0);
  });

  it('bad options exit 2 with the reason', () => {
    expect(setup('--colour')).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("unknown option '--colour'"),
    });
    expect(setup('--data', 'relative/dir', '--dry-run')).toMatchObject({
      status: 2,
      stderr: expect.stringContaining("--data must be an absolute path, got 'relative/dir'"),
    });
    expect(setup('--user', 'Bad User', '--dry-run')).toMatchObject({ status: 2 });
  });

  it('renders the unit for this checkout: user, groups, capabilities, flags the start command has', () => {
    const unit = execFileSync(
      'bash',
      [SETUP, '--print-unit', '--user', 'door', '--data', '/srv/reader'],
      {
        encoding: 'utf8',
      },
    );
    expect(unit).not.toContain('@');
    expect(unit).toContain('User=door');
    expect(unit).toContain('SupplementaryGroups=gpio dialout');
    expect(unit).toContain('AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN');
    expect(unit).toContain('Conflicts=bluetooth.service');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1].split(' ');
    expect(exec).toEqual([
      '/usr/bin/env',
      'node',
      `${ROOT}/bin/reader-sim.js`,
      'start',
      '--profile',
      'pi',
      '--data',
      '/srv/reader',
      '--api-host',
      '0.0.0.0',
    ]);
    for (const flag of exec.filter((a) => a.startsWith('--'))) expect(start.usage).toContain(flag);
    expect(start.usage).toContain('sim|pi');
  });
});
