# ruff: noqa: E501, S105, S608
"""pgbench scripts: the SQL transaction each measured endpoint runs.

Each script is the endpoint's transaction as PostgreSQL sees it (read from
``pg_stat_statements`` while the endpoint runs; the results list the endpoint's
statements per request next to the script's): the same statements on the same
rows in the same order, with the decisions the service takes in Python
(seat or queue, budget or not) taken by ``\\if``. What the scripts leave out is
exactly the cost the comparison is meant to show: HTTP, JSON, auth, the ORM,
calls to the registry, and the connection pool's ``pool_pre_ping`` round trip.

Variables: ``per_client`` (transactions per client) is always set; ``k`` is a
random number per transaction that makes ids and keys unique (a clash would
fail on a unique index and be counted as a failed transaction, never hidden).
"""

from __future__ import annotations

COUNTER = r"""\set k random(1, 1000000000000)
"""

# POST /v1/training-sessions/{id}/enrollments (training database). The service
# reads the session and checks the worker is not enrolled yet, asks the registry
# (not here: another service), then takes the session's row lock alone and books
# in one statement (``otog_training.enrollments.repository._BOOK``, run here verbatim).
BOOKING_READS = r"""BEGIN;
SELECT * FROM training_sessions WHERE id = ':session_id';
SELECT * FROM enrollments WHERE session_id = ':session_id' AND worker_id = md5(':session_id-:client_id-:k')::uuid AND status <> 'cancelled';
"""


def booking() -> str:
    from otog_training.enrollments.repository import _BOOK

    statement = " ".join(
        line.split("--")[0].strip() for line in str(_BOOK).splitlines() if line.strip()
    )
    statement = statement.replace(":session_id", "@SESSION@")
    for name, value in {
        ":enrollment_id": "md5('e-:session_id-:client_id-:k')::uuid",
        ":worker_id": "md5(':session_id-:client_id-:k')::uuid",
        ":group_id": "NULL::uuid",
        ":now": "now()",
    }.items():
        statement = statement.replace(name, value)
    statement = statement.replace("@SESSION@", "':session_id'::uuid")
    lock = "SELECT * FROM training_sessions WHERE id = ':session_id' FOR UPDATE;\n"
    return COUNTER + BOOKING_READS + lock + statement + ";\nCOMMIT;\n"


# POST /v1/loans/{id}/approve (loan-ledger database): lock the loan, move it to
# approved, post the reservation, and last reserve the principal with one guarded
# UPDATE on the fund's row (rolled back as a whole when the budget cannot cover it).
# ``bench_loans`` numbers the fund's applications; a sequence hands each out once.
APPROVE = r"""BEGIN;
SELECT id AS loan, version AS loan_version FROM loans WHERE id = (SELECT loan_id FROM bench_loans WHERE n = (SELECT nextval('bench_loans_next'))) FOR UPDATE \gset
UPDATE loans SET status = 'approved', decided_at = now(), decided_by = 'pgbench', version = :loan_version + 1, updated_at = now() WHERE id = ':loan' AND version = :loan_version;
INSERT INTO loan_status_changes (loan_id, action, from_status, to_status, changed_by, note) VALUES (':loan', 'approve', 'submitted', 'approved', 'pgbench', NULL) RETURNING seq, changed_at;
INSERT INTO journal_entries (id, fund_id, kind, debit_account, credit_account, amount_satang, effective_on, description, loan_id, repayment_id, reverses_entry_id, recorded_by, request_id) VALUES (gen_random_uuid(), ':fund_id', 'reservation', 'reserved_budget', 'available_budget', :principal, current_date, 'Loan approved: principal reserved', ':loan', NULL, NULL, 'pgbench', 'pgbench');
WITH reserved AS (UPDATE funds SET committed_satang = committed_satang + :principal, version = version + 1, updated_at = now() WHERE id = ':fund_id' AND (budget_satang - committed_satang - disbursed_satang + CASE WHEN revolving THEN repaid_satang ELSE 0 END) >= :principal RETURNING id) SELECT count(*) AS ok FROM reserved \gset
\if :ok = 1
COMMIT;
\else
SELECT * FROM funds WHERE id = ':fund_id';
ROLLBACK;
\endif
"""

# POST /v1/loans/{id}/repayments with an Idempotency-Key (loan-ledger database):
# claim the key, lock the loan, record the repayment, post it, re-allocate the
# installments, move the loan's version, read back what the response shows, add
# it to the fund's repaid total (last: every repayment of the fund updates that
# row) and store the response under the key.
REPAY = (
    COUNTER
    + r"""\set n random(1, :loans)
BEGIN;
SELECT pg_try_advisory_xact_lock(hashtextextended('idempotency pgbench :fund_id-:client_id-:k', 0));
SELECT * FROM idempotency_keys WHERE client_id = 'pgbench' AND key = ':fund_id-:client_id-:k';
SELECT id AS loan, version AS loan_version FROM loans WHERE id = (SELECT loan_id FROM bench_loans WHERE n = :n) FOR UPDATE \gset
SELECT * FROM installments WHERE loan_id = ':loan' ORDER BY number;
INSERT INTO repayments (id, loan_id, amount_satang, paid_on, reference, recorded_by) VALUES (md5('r-:fund_id-:client_id-:k')::uuid, ':loan', :amount, ':paid_on', NULL, 'pgbench') RETURNING seq, recorded_at;
SELECT * FROM funds WHERE id = ':fund_id';
INSERT INTO journal_entries (id, fund_id, kind, debit_account, credit_account, amount_satang, effective_on, description, loan_id, repayment_id, reverses_entry_id, recorded_by, request_id) VALUES (gen_random_uuid(), ':fund_id', 'repayment', 'collections', 'loans_receivable', :amount, ':paid_on', 'Repayment received', ':loan', md5('r-:fund_id-:client_id-:k')::uuid, NULL, 'pgbench', 'pgbench');
SELECT r.* FROM repayments r LEFT OUTER JOIN repayment_reversals v ON v.repayment_id = r.id WHERE r.loan_id = ':loan' AND v.repayment_id IS NULL ORDER BY r.paid_on, r.seq;
UPDATE installments SET paid_satang = paid_satang + :amount WHERE loan_id = ':loan' AND number = (SELECT min(number) FROM installments WHERE loan_id = ':loan' AND paid_satang + :amount <= principal_satang);
UPDATE loans SET version = :loan_version + 1, updated_at = now() WHERE id = ':loan' AND version = :loan_version;
SELECT * FROM installments WHERE loan_id = ':loan' ORDER BY number;
SELECT r.* FROM repayments r LEFT OUTER JOIN repayment_reversals v ON v.repayment_id = r.id WHERE r.loan_id = ':loan' AND v.repayment_id IS NULL ORDER BY r.paid_on, r.seq;
SELECT * FROM repayment_reversals WHERE repayment_id IN (md5('r-:fund_id-:client_id-:k')::uuid);
UPDATE funds SET repaid_satang = repaid_satang + :amount, version = version + 1, updated_at = now() WHERE id = ':fund_id' RETURNING id;
INSERT INTO idempotency_keys (client_id, key, method, path, request_hash, response_status, response_body) VALUES ('pgbench', ':fund_id-:client_id-:k', 'POST', '/v1/loans/:loan/repayments', md5(':fund_id-:client_id-:k'), 201, repeat('x', 600)::bytea) RETURNING created_at;
COMMIT;
"""
)

# POST /v1/workers/search (registry database): one lookup on the unique keyed
# hash. ``bench_nid`` holds the hashes of the IDs the HTTP run searched for.
SEARCH = r"""\set n random(1, :count)
BEGIN;
SELECT * FROM workers WHERE national_id_hmac = (SELECT h FROM bench_nid WHERE n = :n);
COMMIT;
"""

# GET /v1/groups?province=XX (registry database): the first page, keyset order.
GROUPS_BY_PROVINCE = r"""\set p random(1, :provinces)
BEGIN;
SELECT * FROM groups WHERE province_code = (SELECT code FROM bench_provinces WHERE n = :p) ORDER BY id LIMIT 51;
COMMIT;
"""

# POST /v1/oauth/token (registry database): the client by its id.
TOKEN = r"""BEGIN;
SELECT * FROM api_clients WHERE client_id = ':client_id';
COMMIT;
"""

# POST /v1/loans/{id}/repayments with ``LOANS_FUND_CHANGES=true`` (the default):
# as ``REPAY``, but the fund is read for its ``revolving`` flag only, and the
# repaid money is appended to ``fund_figure_changes`` instead of added to the
# fund's row, so no repayment waits for another's commit on that row (the fold
# job moves the changes into the row later; readers add them up meanwhile).
REPAY_CHANGES = (
    COUNTER
    + r"""\set n random(1, :loans)
BEGIN;
SELECT pg_try_advisory_xact_lock(hashtextextended('idempotency pgbench :fund_id-:client_id-:k', 0));
SELECT * FROM idempotency_keys WHERE client_id = 'pgbench' AND key = ':fund_id-:client_id-:k';
SELECT id AS loan, version AS loan_version FROM loans WHERE id = (SELECT loan_id FROM bench_loans WHERE n = :n) FOR UPDATE \gset
SELECT * FROM installments WHERE loan_id = ':loan' ORDER BY number;
INSERT INTO repayments (id, loan_id, amount_satang, paid_on, reference, recorded_by) VALUES (md5('r-:fund_id-:client_id-:k')::uuid, ':loan', :amount, ':paid_on', NULL, 'pgbench') RETURNING seq, recorded_at;
SELECT revolving FROM funds WHERE id = ':fund_id';
INSERT INTO journal_entries (id, fund_id, kind, debit_account, credit_account, amount_satang, effective_on, description, loan_id, repayment_id, reverses_entry_id, recorded_by, request_id) VALUES (gen_random_uuid(), ':fund_id', 'repayment', 'collections', 'loans_receivable', :amount, ':paid_on', 'Repayment received', ':loan', md5('r-:fund_id-:client_id-:k')::uuid, NULL, 'pgbench', 'pgbench');
SELECT r.* FROM repayments r LEFT OUTER JOIN repayment_reversals v ON v.repayment_id = r.id WHERE r.loan_id = ':loan' AND v.repayment_id IS NULL ORDER BY r.paid_on, r.seq;
UPDATE installments SET paid_satang = paid_satang + :amount WHERE loan_id = ':loan' AND number = (SELECT min(number) FROM installments WHERE loan_id = ':loan' AND paid_satang + :amount <= principal_satang);
UPDATE loans SET version = :loan_version + 1, updated_at = now() WHERE id = ':loan' AND version = :loan_version;
SELECT * FROM installments WHERE loan_id = ':loan' ORDER BY number;
SELECT r.* FROM repayments r LEFT OUTER JOIN repayment_reversals v ON v.repayment_id = r.id WHERE r.loan_id = ':loan' AND v.repayment_id IS NULL ORDER BY r.paid_on, r.seq;
SELECT * FROM repayment_reversals WHERE repayment_id IN (md5('r-:fund_id-:client_id-:k')::uuid);
INSERT INTO fund_figure_changes (fund_id, repaid_satang) VALUES (':fund_id', :amount);
INSERT INTO idempotency_keys (client_id, key, method, path, request_hash, response_status, response_body) VALUES ('pgbench', ':fund_id-:client_id-:k', 'POST', '/v1/loans/:loan/repayments', md5(':fund_id-:client_id-:k'), 201, repeat('x', 600)::bytea) RETURNING created_at;
COMMIT;
"""
)


def booking_batch(size: int) -> str:
    """``size`` bookings of one session in one transaction, as a batch books them
    (``otog_training.enrollments.batcher``): the first member's own reads, the
    session's row lock taken alone, then ``_BOOK_BATCH`` (verbatim) on arrays of
    ``size`` bookings, one commit."""
    from otog_training.enrollments.repository import _BOOK_BATCH

    statement = " ".join(
        line.split("--")[0].strip() for line in str(_BOOK_BATCH).splitlines() if line.strip()
    )
    statement = statement.replace(":session_id", "@SESSION@")

    def numbered(prefix: str) -> str:
        return (
            f"ARRAY(SELECT md5('{prefix}:session_id-:client_id-:k-' || g)::uuid"
            f" FROM generate_series(1, {size}) AS g)"
        )

    for name, value in {
        ":worker_ids": numbered(""),
        ":group_ids": f"array_fill(NULL::uuid, ARRAY[{size}])",
        ":booked_at": f"array_fill(now(), ARRAY[{size}])",
        ":ids": numbered("e-"),
    }.items():
        statement = statement.replace(name, value)
    statement = statement.replace("@SESSION@", "':session_id'::uuid")
    lock = "SELECT * FROM training_sessions WHERE id = ':session_id' FOR UPDATE;\n"
    return COUNTER + BOOKING_READS + lock + statement + ";\nCOMMIT;\n"
