using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class TokenVends : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "scoped_tokens",
                columns: table => new
                {
                    InstallationId = table.Column<long>(type: "bigint", nullable: false),
                    ScopeKey = table.Column<string>(type: "text", nullable: false),
                    TokenCiphertext = table.Column<string>(type: "text", nullable: false),
                    ExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    MintedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    PermissionsJson = table.Column<string>(type: "text", nullable: true),
                    RepositorySelection = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_scoped_tokens", x => new { x.InstallationId, x.ScopeKey });
                });

            migrationBuilder.CreateTable(
                name: "token_vends",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Client = table.Column<string>(type: "text", nullable: false),
                    InstallationId = table.Column<long>(type: "bigint", nullable: false),
                    Scope = table.Column<string>(type: "text", nullable: false),
                    ExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    VendedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_token_vends", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_token_vends_VendedAt",
                table: "token_vends",
                column: "VendedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "scoped_tokens");

            migrationBuilder.DropTable(
                name: "token_vends");
        }
    }
}
