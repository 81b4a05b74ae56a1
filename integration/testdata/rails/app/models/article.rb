class Article < ApplicationRecord
  has_one_attached :cover
end
