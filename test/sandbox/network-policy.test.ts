// The egress policy core: what `network: true` may reach, decided on IP
// addresses (v4, v6, IPv4-mapped), with the operator's allow list on top, and
// the same decisions rendered as nftables rules for the OS sandboxes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrProblem, parseCidr } from '../../src/sandbox/network/cidr.ts';
import { nftRuleset } from '../../src/sandbox/network/nft-rules.ts';
import { EgressRules, hostAddresses } from '../../src/sandbox/network/policy.ts';

const none = new EgressRules({ allow: [] });

describe('egress policy core', () => {
  it('refuses loopback, link-local, private, reserved and multicast, IPv4 and IPv6', () => {
    const refused = [
      '127.0.0.1',
      '127.255.0.9',
      '0.0.0.0',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '224.0.0.1',
      '255.255.255.255',
      '240.0.0.1',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fe80::1%eth0',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '2001:db8::1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      '::ffff:10.0.0.1',
      '::127.0.0.1',
    ];
    for (const a of refused) assert.ok(!none.isAllowed(a), `${a} must be refused`);
  });

  it('refuses IPv4-translated addresses (::ffff:0:a.b.c.d, RFC 2765) that embed a refused IPv4, and says so', () => {
    for (const a of [
      '::ffff:0:127.0.0.1',
      '::ffff:0:7f00:1',
      '::ffff:0:169.254.169.254',
      '::ffff:0:10.0.0.1',
      '::ffff:0:192.168.1.1',
      '0:0:0:0:ffff:0:ac10:1',
      '::ffff:0:0.0.0.0',
    ]) {
      assert.ok(!none.isAllowed(a), `${a} must be refused`);
    }
    assert.match(none.refusal('::ffff:0:169.254.169.254') ?? '', /IPv4-translated.*link-local/);
    assert.equal(none.refusal('::ffff:0:8.8.8.8'), undefined, 'a public IPv4 address stays reachable in that form');
    const rules = new EgressRules({ allow: [] });
    assert.ok(
      rules.blocked.some((c) => c.text === '::ffff:0:7f00:0/104'),
      'the nftables rules refuse the translated loopback range',
    );
  });

  it('allows the public internet, IPv4, IPv6 and IPv4-mapped', () => {
    for (const a of [
      '8.8.8.8',
      '1.1.1.1',
      '151.101.1.1',
      '2606:4700::1111',
      '2a00:1450:4001::200e',
      '::ffff:8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
    ]) {
      assert.equal(none.refusal(a), undefined, a);
    }
  });

  it("refuses every address of the host's own interfaces", () => {
    const own = hostAddresses();
    assert.ok(own.length > 0);
    for (const a of own)
      assert.match(none.refusal(a) ?? '', /host itself|loopback|private|link-local|reserved|documentation/, a);
  });

  it('says why an address is refused', () => {
    assert.match(none.refusal('169.254.169.254') ?? '', /169\.254\.0\.0\/16, link-local/);
    assert.match(none.refusal('::') ?? '', /::\/96, unspecified/);
    assert.match(none.refusal('::1') ?? '', /::\/96/);
    assert.match(none.refusal('not-an-ip') ?? '', /not an IP address/);
  });

  it("lets the operator's allow list through, mapped addresses included", () => {
    const rules = new EgressRules({ allow: ['127.0.0.0/8', '10.1.0.0/16', 'fd00:1::/64'] });
    for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.1.200.3', 'fd00:1::5']) assert.ok(rules.isAllowed(a), a);
    for (const a of ['10.2.0.1', 'fd00:2::5', '::1', '169.254.169.254']) assert.ok(!rules.isAllowed(a), a);
  });

  it('parses CIDRs, clears host bits, and explains bad ones', () => {
    assert.equal(parseCidr('10.1.2.3/16').text, '10.1.0.0/16');
    assert.equal(parseCidr('192.0.2.7').text, '192.0.2.7/32');
    assert.equal(parseCidr('fd00:1::7/64').text, 'fd00:1::/64');
    assert.equal(parseCidr('::ffff:10.0.0.1/128').text, '::ffff:a00:1/128');
    assert.match(cidrProblem('10.0.0.0/33') ?? '', /over 32/);
    assert.match(cidrProblem('example.com/8') ?? '', /not an IPv4 or IPv6 address/);
    assert.match(cidrProblem('10.0.0.0/x') ?? '', /not a number/);
    assert.throws(
      () => new EgressRules({ allow: ['10.0.0.0/99'] }),
      (e: Error) => /egress allow entry "10.0.0.0\/99" is not a CIDR.*such as 10\.1\.0\.0\/16/.test(e.message),
    );
  });

  it('renders nftables rules: loopback and DNS first, then the allow list, then rejects, host addresses included', () => {
    const text = nftRuleset(new EgressRules({ allow: ['10.1.0.0/16'] }));
    const order = [
      'oifname "lo" accept',
      'ip daddr 10.0.2.3 udp dport 53 accept',
      'ip daddr 10.1.0.0/16 accept',
      'ip daddr 10.0.0.0/8 reject',
      'ip6 daddr fe80::/10 reject',
    ];
    let at = -1;
    for (const line of order) {
      const i = text.indexOf(line);
      assert.ok(i > at, `${line} missing or out of order in\n${text}`);
      at = i;
    }
    for (const a of hostAddresses())
      assert.ok(text.includes(`daddr ${parseCidr(a).text} reject`), `host address ${a} must be rejected`);
    assert.ok(!text.includes('10.0.2.2 accept'), 'the host loopback alias stays closed');
    assert.ok(nftRuleset(new EgressRules({ allow: ['127.0.0.0/8'] })).includes('ip daddr 10.0.2.2 accept'));
  });
});
