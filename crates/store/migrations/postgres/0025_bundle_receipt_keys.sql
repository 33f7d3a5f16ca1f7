-- A bundle receipt's key (ReceiptKey), as 0024 gave single cases: a 一件事 sent twice makes one
-- parent. Written only for keyed receipts, so the partial index costs the others nothing.
ALTER TABLE bundle_cases ADD COLUMN receipt_key TEXT;
CREATE UNIQUE INDEX bundle_cases_receipt_key ON bundle_cases (receipt_key) WHERE receipt_key IS NOT NULL;
