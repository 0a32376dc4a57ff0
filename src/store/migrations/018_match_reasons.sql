-- What the statistical second opinion said about a match (src/rules/opinion.rs): for a
-- `second-opinion` match the score and the words that moved it, for a rule hit it lowered to
-- low the same with "lowered from ...". A JSON array of strings; NULL when it said nothing.
ALTER TABLE matches ADD COLUMN reasons TEXT;
