-- A receipt's key (ReceiptKey): a submission sent twice makes one case. Written only for keyed
-- receipts, so the partial index costs the other receipts nothing.
ALTER TABLE cases ADD COLUMN receipt_key TEXT;
CREATE UNIQUE INDEX cases_receipt_key ON cases (receipt_key) WHERE receipt_key IS NOT NULL;
