-- The chain model as data (issue 6): segment keywords and codes outside manufacturing, where a
-- chain came from (the package or a user's file or edit) and when a user last changed it, and
-- the firms' business scope (经营范围) that keyword membership reads.
--
-- enterprise_segments.role gains 'excluded' (method 'manual'): an analyst removed the firm from
-- the segment; recomputing membership keeps every manual row, and readers leave excluded rows out.

ALTER TABLE chain_segments ADD COLUMN keywords VARCHAR;                 -- ';'-joined product words
ALTER TABLE chain_segments ADD COLUMN non_manufacturing_codes VARCHAR;  -- ';'-joined codes outside section C

ALTER TABLE chains ADD COLUMN status VARCHAR;                           -- how well the chain is sourced
ALTER TABLE chains ADD COLUMN source VARCHAR;                           -- citation, or the user's file
ALTER TABLE chains ADD COLUMN origin VARCHAR;                           -- package | user (NULL: package)
ALTER TABLE chains ADD COLUMN updated_at TIMESTAMP;                     -- last user change (UTC); NULL for package rows

ALTER TABLE enterprises ADD COLUMN business_scope VARCHAR;             -- 经营范围 / 主营产品
