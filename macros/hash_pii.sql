{#-
  hash_pii(expression, key=none): pseudonymise a PII value (e-mail, name, phone) with a keyed hash.

  The construction is HMAC-SHA-256 (RFC 2104) with the key from the KILN_PII_KEY environment
  variable, returned as 64 lower-case hex characters; NULL stays NULL. Without the key a hash
  cannot be recomputed from a guessed e-mail address, unlike a plain sha256. Pass `key` only
  to check the construction against published test vectors (tests/data). The default key 'dev-only-not-secret' is for local development only: production sets
  KILN_PII_KEY from the secret store. Normalise values (trim, lower-case) before hashing so the
  same person always gets the same hash.

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

{#- the key as a SQL string literal: the argument if given, else KILN_PII_KEY, else the dev default -#}
{% macro pii_key_literal(key=none) -%}
  {%- set k = key if key is not none else env_var("KILN_PII_KEY", "dev-only-not-secret") -%}
  '{{ k | replace("'", "''") }}'
{%- endmacro %}

{#- K0 xor pad as a 64-byte BLOB: K0 is the key (sha256 of it when longer than 64 bytes) padded
    with zero bytes to 64; pad_hex is '36' (ipad) or '5c' (opad). XOR goes through DuckDB's BIT
    type, which casts to and from BLOB byte for byte. -#}
{% macro duckdb__hmac_key_block(key, pad_hex) -%}
cast(xor(cast(unhex(rpad(hex(case when octet_length(encode({{ pii_key_literal(key) }})) > 64 then unhex(sha256({{ pii_key_literal(key) }})) else encode({{ pii_key_literal(key) }}) end), 128, '0')) as bit), cast(unhex(repeat('{{ pad_hex }}', 64)) as bit)) as blob)
{%- endmacro %}

{% macro duckdb__hash_pii(expression, key) -%}
sha256({{ duckdb__hmac_key_block(key, '5c') }} || unhex(sha256({{ duckdb__hmac_key_block(key, '36') }} || encode(cast({{ expression }} as varchar)))))
{%- endmacro %}

{% macro athena__hash_pii(expression, key) -%}
lower(to_hex(hmac_sha256(to_utf8(cast({{ expression }} as varchar)), to_utf8({{ pii_key_literal(key) }}))))
{%- endmacro %}

{% macro default__hash_pii(expression, key) -%}
  {{ exceptions.raise_compiler_error("hash_pii: no keyed-hash implementation for adapter '" ~ adapter.type() ~ "'; add a " ~ adapter.type() ~ "__hash_pii macro (HMAC-SHA-256 keyed by KILN_PII_KEY)") }}
{%- endmacro %}
