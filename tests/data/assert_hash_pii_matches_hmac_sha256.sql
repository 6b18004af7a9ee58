-- hash_pii must be HMAC-SHA-256. Known answers: RFC 4231's test case 2, and (computed with
-- Python's hmac module) a short key, a key of exactly the 64-byte block, a key longer than the
-- block (hashed first), and non-ASCII input. The project's own key is not involved.
with cases as (
    select
        'RFC 4231 test case 2' as case_name,
        {{ hash_pii("'what do ya want for nothing?'", key='Jefe') }} as actual,
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' as expected
    union all
    select
        'short key',
        {{ hash_pii("'The quick brown fox jumps over the lazy dog'", key='key') }},
        'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'
    union all
    select
        'key of exactly one block',
        {{ hash_pii("'+4930951128'", key='0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef') }},
        '45817ec628d95e6952ba7f12ee4a0c4b7605daef231356c6ab6d9e601e3ddac3'
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
