ActiveRecord::Schema[7.1].define(version: 2024_03_01_120000) do
  create_table "articles", force: :cascade do |t|
    t.string "title"
    t.timestamps
  end
end
