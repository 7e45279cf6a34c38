"""Database: URLs and connections, catalog, throwaway cluster, lock discipline; on rendering."""
