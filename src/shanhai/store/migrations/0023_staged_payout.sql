-- 0023 staged pay-out (政策兑现分期): an item with stages (amount.stages, e.g. 30 % on completion, 70 %
-- after acceptance) is paid one stage at a time. payments.amount stays the approved award;
-- paid_amount is what has been paid so far (the stages' parts from calc_stages, the last stage
-- taking the rounding rest, so it ends equal to amount) and stages_paid how many stages. An award
-- between its first and last stage is in state 'paying' (分期兑现中). Each stage is one
-- service_payout_events row (state 'paying' or 'paid', amount = that stage's part).
-- Awards paid before this migration were paid whole in one go: paid_amount = amount, 1 payment.

ALTER TABLE payments ADD COLUMN paid_amount DECIMAL(18, 4) DEFAULT 0;   -- 万元 paid so far
ALTER TABLE payments ADD COLUMN stages_paid INTEGER DEFAULT 0;          -- payments (stages) made so far

UPDATE payments SET paid_amount = amount, stages_paid = 1 WHERE state = 'paid';
