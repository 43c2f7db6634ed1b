pub mod docx;
pub mod markup;
pub mod schema_order;
