-- Encrypted secrets (src/tenancy/secrets*.ts): one row per secret of a
-- namespace. `sealed` is AES-256-GCM under the master key with the namespace
-- and name as associated data ("v1.<iv>.<tag>.<ciphertext>", base64 parts);
-- the plaintext is never stored.
CREATE TABLE secrets (
  namespace  TEXT NOT NULL,
  name       TEXT NOT NULL,
  sealed     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX secrets_updated ON secrets (updated_at);
