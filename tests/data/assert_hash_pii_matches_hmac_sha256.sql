-- hash_pii must be HMAC-SHA-256. Known answers (computed with Python's hmac module) for a short
-- key (the RFC 2104 example), a key longer than the 64-byte block, and non-ASCII input; the
-- project's own key is not involved.
with cases as (
    select
        'short key' as case_name,
        {{ hash_pii("'The quick brown fox jumps over the lazy dog'", key='key') }} as actual,
        'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8' as expected
    union all
    select
        'key longer than the block',
        {{ hash_pii("'jane.doe@example.com'", key='kiln-demo kiln-demo kiln-demo kiln-demo kiln-demo kiln-demo kiln-demo kiln-demo kiln-demo kiln-demo ') }},
        'c8d711674179f5fc4fe0527c6b7d234fa103e0834c795735020a202b9677e428'
    union all
    select
        'non-ASCII key and value',
        {{ hash_pii("'zoë@example.com'", key='schlüssel') }},
        '65fbf724d21ae9510aaee129c5bd55810aeaded29a53db919d5fb8128a0f061b'
)

select case_name, actual, expected
from cases
where actual is null or actual <> expected
