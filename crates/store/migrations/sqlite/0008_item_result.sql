-- 办理结果 of an item (name, the material code it stands for elsewhere, validity in years), as
-- JSON like the item's situations: read and written whole with the item, never queried inside.
ALTER TABLE items ADD COLUMN result TEXT NOT NULL DEFAULT '{}';
