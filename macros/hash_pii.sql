{#-
  hash_pii(expression, key=none): pseudonymise a PII value (e-mail, name, phone) with a keyed hash.

  The construction is HMAC-SHA-256 (RFC 2104), returned as 64 lower-case hex characters; NULL
  stays NULL. Without the key a hash cannot be recomputed from a guessed e-mail address, unlike a
  plain sha256. Normalise values (trim, lower-case) before hashing so the same person always gets
  the same hash.

  The key never appears in SQL, so it never reaches a compiled or run file, manifest.json, a log
  or a view definition: the warehouse connection holds it and the SQL reads it there.
  - DuckDB: profiles.yml sets it on every connection as the DuckDB variable `pii_key` (a
    `settings:` entry `variable pii_key: "{{ env_var('DBT_ENV_SECRET_KILN_PII_KEY') }}"`, which
    dbt-duckdb and kiln run as `set variable pii_key = ...`), and the SQL reads
    getvariable('pii_key'). The DBT_ENV_SECRET_ prefix makes dbt and kiln mask the value in their
    output and refuse it anywhere but profiles.yml. A connection without the variable fails with a
    clear error instead of hashing with a NULL key. Models that hash are tables, never views: a
    view would re-hash at query time, on a reader's connection that has no key.
  - Athena (Trino): no session variables; the key is read from a one-row table only the
    transformation role may read (var `pii_key_relation`, column `hmac_key`), and a missing key
    fails the query with a clear message.
  Pass `key` only to check the construction against published test vectors (tests/data); it is
  then a literal in that test's SQL, which is why it must never be the project's key.

  - DuckDB has sha256() but no HMAC function, so HMAC is written out in SQL:
      HMAC(K, m) = SHA256((K0 xor opad) || SHA256((K0 xor ipad) || m))
    where K0 is the key's UTF-8 bytes (hashed first when longer than the 64-byte block) padded
    with zero bytes to 64, ipad = 0x36 repeated and opad = 0x5c repeated. The key blocks
    depend only on the key, a constant, so DuckDB folds them once per query. Checked against
    Python's hmac.new(key, msg, hashlib.sha256) for short, long (> 64 bytes) and non-ASCII keys.
  - Athena (Trino) has hmac_sha256(binary, key) built in.
-#}
{% macro hash_pii(expression, key=none) -%}
  {{ return(adapter.dispatch('hash_pii')(expression, key)) }}
{%- endmacro %}

{#- the key as a SQL expression: a test vector's literal when `key` is given, else the
    connection's `pii_key` variable, failing when the connection has none (the cast matters: an
    unset variable is an untyped NULL, which DuckDB would fold through the hash to a NULL hash
    without ever calling error()) -#}
{% macro duckdb__pii_key(key=none) -%}
  {%- if key is not none -%}
  '{{ key | replace("'", "''") }}'
  {%- else -%}
  coalesce(nullif(cast(getvariable('pii_key') as varchar), ''), error('hash_pii: this connection has no PII key (the DuckDB variable pii_key). Set DBT_ENV_SECRET_KILN_PII_KEY; profiles.yml sets the variable from it (settings: variable pii_key)'))
  {%- endif -%}
{%- endmacro %}

{#- K0 xor pad as a 64-byte BLOB: K0 is the key (sha256 of it when longer than 64 bytes) padded
    with zero bytes to 64; pad_hex is '36' (ipad) or '5c' (opad). XOR goes through DuckDB's BIT
    type, which casts to and from BLOB byte for byte. -#}
{% macro duckdb__hmac_key_block(key, pad_hex) -%}
cast(xor(cast(unhex(rpad(hex(case when octet_length(encode({{ duckdb__pii_key(key) }})) > 64 then unhex(sha256({{ duckdb__pii_key(key) }})) else encode({{ duckdb__pii_key(key) }}) end), 128, '0')) as bit), cast(unhex(repeat('{{ pad_hex }}', 64)) as bit)) as blob)
{%- endmacro %}

{% macro duckdb__hash_pii(expression, key) -%}
sha256({{ duckdb__hmac_key_block(key, '5c') }} || unhex(sha256({{ duckdb__hmac_key_block(key, '36') }} || encode(cast({{ expression }} as varchar)))))
{%- endmacro %}

{% macro athena__hash_pii(expression, key) -%}
  {%- if key is not none -%}
    {%- set key_sql = "to_utf8('" ~ (key | replace("'", "''")) ~ "')" -%}
  {%- else -%}
    {%- set key_sql = "coalesce((select max(hmac_key) from " ~ var('pii_key_relation', 'security.pii_hmac_key') ~ "), fail('hash_pii: no PII key in " ~ var('pii_key_relation', 'security.pii_hmac_key') ~ " (column hmac_key, varbinary): load it from the secret store before the run'))" -%}
  {%- endif -%}
lower(to_hex(hmac_sha256(to_utf8(cast({{ expression }} as varchar)), {{ key_sql }})))
{%- endmacro %}

{% macro default__hash_pii(expression, key) -%}
  {{ exceptions.raise_compiler_error("hash_pii: no keyed-hash implementation for adapter '" ~ adapter.type() ~ "'; add a " ~ adapter.type() ~ "__hash_pii macro (HMAC-SHA-256 with a key the SQL never contains)") }}
{%- endmacro %}
